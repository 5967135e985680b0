package media

import (
	"encoding/binary"
	"errors"
)

var errGIF = errors.New("malformed gif")

// scanGIF walks a GIF's blocks without decoding any pixels and counts its
// frames and their pixels, so decodeGIF can refuse an animation that
// would take too much memory before image/gif allocates it.
func scanGIF(b []byte) (frames int, pixels int64, err error) {
	if len(b) < 13 || (string(b[:6]) != "GIF87a" && string(b[:6]) != "GIF89a") {
		return 0, 0, errGIF
	}
	i := 13
	if flags := b[10]; flags&0x80 != 0 { // global colour table
		i += 3 << (flags&7 + 1)
	}
	skipSubBlocks := func() error {
		for {
			if i >= len(b) {
				return errGIF
			}
			n := int(b[i])
			i++
			if n == 0 {
				return nil
			}
			i += n
		}
	}
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if err := skipSubBlocks(); err != nil {
				return 0, 0, err
			}
		case 0x2C: // image descriptor
			if i+10 > len(b) {
				return 0, 0, errGIF
			}
			w := int64(binary.LittleEndian.Uint16(b[i+5:]))
			h := int64(binary.LittleEndian.Uint16(b[i+7:]))
			flags := b[i+9]
			i += 10
			if flags&0x80 != 0 { // local colour table
				i += 3 << (flags&7 + 1)
			}
			i++ // LZW minimum code size
			if err := skipSubBlocks(); err != nil {
				return 0, 0, err
			}
			frames++
			pixels += w * h
		case 0x3B: // trailer
			return frames, pixels, nil
		default:
			return 0, 0, errGIF
		}
	}
	// No trailer: image/gif accepts that too; what was counted stands.
	return frames, pixels, nil
}
