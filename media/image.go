package media

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"

	"github.com/buckket/go-blurhash"
	"github.com/disintegration/imaging"
	_ "golang.org/x/image/webp" // registers the WebP decoder with image.Decode
)

// Limits on what members upload, checked on the bytes: the name and the
// type a browser claims are never believed.
const (
	// MaxFileBytes is the largest file taken.
	MaxFileBytes = 10 << 20
	// MaxPixels bounds a still image's width × height before it is
	// decoded: a small file can claim a huge canvas, and decoding takes
	// four bytes a pixel.
	MaxPixels = 20_000_000
	// MaxGIFPixels bounds the pixels of all a GIF's frames together.
	MaxGIFPixels = 60_000_000
	// MaxGIFFrames bounds an animation's frames.
	MaxGIFFrames = 1000
	// MaxSide is the longest side a still image is stored at; larger
	// ones are scaled down (a forum page never shows more).
	MaxSide = 2560
	// ThumbSide is the box a thumbnail fits in.
	ThumbSide = 400
	// AvatarSide is the side of the square an avatar is cut to.
	AvatarSide = 256
	// jpegQuality is what stored JPEGs are written at.
	jpegQuality = 85
)

// A Refusal says why an image was not taken, in a sentence fit to show
// the member who sent it.
type Refusal struct{ Message string }

func (r *Refusal) Error() string { return r.Message }

// What an upload can be refused for.
var (
	ErrTooLarge      = &Refusal{fmt.Sprintf("The file is larger than %d MB.", MaxFileBytes>>20)}
	ErrNotImage      = &Refusal{"The file is not a JPEG, PNG, WebP or GIF image."}
	ErrTooManyPixels = &Refusal{fmt.Sprintf("The image has more than %d million pixels.", MaxPixels/1_000_000)}
	ErrLongAnimation = &Refusal{"The animation has too many frames or pixels."}
	ErrUnreadable    = &Refusal{"The image could not be read: the file is damaged or not what its type says."}
)

// acceptedTypes are the formats taken, by the type sniffed from the bytes.
var acceptedTypes = map[string]string{
	"image/jpeg": "jpeg",
	"image/png":  "png",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// ContentType names the type of an image from its first bytes ("image/png"),
// or "" when it is not one Skein stores. It is what files are served as.
func ContentType(head []byte) string {
	ct := http.DetectContentType(head)
	if _, ok := acceptedTypes[ct]; ok {
		return ct
	}
	return ""
}

// Encoded is an image as it is stored: re-encoded from the pixels alone,
// so nothing of the uploaded file's metadata (EXIF, GPS, comments, colour
// profiles with names in them) survives.
type Encoded struct {
	Data          []byte
	ContentType   string // "image/jpeg", "image/png" or "image/gif"
	Width, Height int
}

// Ext is the file extension of the encoded type, with its dot.
func (e *Encoded) Ext() string {
	switch e.ContentType {
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	}
	return ".jpg"
}

// Processed is an upload made ready to store.
type Processed struct {
	Image Encoded // at most MaxSide on its longest side; a GIF keeps its frames
	Thumb Encoded // fits ThumbSide; a GIF's first frame
	// Blurhash is the few bytes Mastodon and others draw as a blurred
	// stand-in until the image arrives (or while it is sensitive).
	Blurhash string
}

// blurhashOf computes a blurhash from a 32-pixel copy of img: the hash
// keeps 4×3 colours, so a larger source only costs time.
func blurhashOf(img image.Image) string {
	h, err := blurhash.Encode(4, 3, imaging.Fit(img, 32, 32, imaging.Box))
	if err != nil {
		return ""
	}
	return h
}

// Process checks and re-encodes an uploaded image. It reads at most
// MaxFileBytes+1 bytes of r. JPEGs are turned upright by their EXIF
// orientation before it is dropped; WebP is stored as JPEG (or PNG when it
// has transparency), since there is no pure-Go WebP encoder; PNG stays
// PNG, so screenshots keep sharp text; an animated GIF keeps its frames.
func Process(r io.Reader) (*Processed, error) {
	data, format, err := read(r)
	if err != nil {
		return nil, err
	}
	if format == "gif" {
		return processGIF(data)
	}
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, ErrUnreadable
	}
	if b := img.Bounds(); b.Dx() > MaxSide || b.Dy() > MaxSide {
		img = imaging.Fit(img, MaxSide, MaxSide, imaging.Lanczos)
	}
	out := &Processed{}
	keepPNG := format == "png"
	if out.Image, err = encodeStill(img, keepPNG); err != nil {
		return nil, err
	}
	if out.Thumb, err = encodeStill(imaging.Fit(img, ThumbSide, ThumbSide, imaging.Lanczos), false); err != nil {
		return nil, err
	}
	out.Blurhash = blurhashOf(img)
	return out, nil
}

// ProcessAvatar checks an uploaded image and cuts it to a square of
// AvatarSide, from the middle; a GIF gives its first frame.
func ProcessAvatar(r io.Reader) (*Encoded, error) {
	data, format, err := read(r)
	if err != nil {
		return nil, err
	}
	var img image.Image
	if format == "gif" {
		g, err := decodeGIF(data)
		if err != nil {
			return nil, err
		}
		img = firstFrame(g)
	} else if img, err = imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true)); err != nil {
		return nil, ErrUnreadable
	}
	e, err := encodeStill(imaging.Fill(img, AvatarSide, AvatarSide, imaging.Center, imaging.Lanczos), false)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// read takes the file whole (within MaxFileBytes) and checks its type and
// its canvas before anything decodes the pixels.
func read(r io.Reader) ([]byte, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, "", ErrTooLarge
	}
	format, ok := acceptedTypes[http.DetectContentType(data)]
	if !ok {
		return nil, "", ErrNotImage
	}
	cfg, decoded, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || decoded != format || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", ErrUnreadable
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, "", ErrTooManyPixels
	}
	return data, format, nil
}

func processGIF(data []byte) (*Processed, error) {
	g, err := decodeGIF(data)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	// EncodeAll writes the frames, their timing and the loop count, and
	// nothing else of the original: no comments, no XMP.
	if err := gif.EncodeAll(&buf, g); err != nil {
		return nil, fmt.Errorf("encode gif: %w", err)
	}
	out := &Processed{Image: Encoded{Data: buf.Bytes(), ContentType: "image/gif", Width: g.Config.Width, Height: g.Config.Height}}
	first := firstFrame(g)
	if out.Thumb, err = encodeStill(imaging.Fit(first, ThumbSide, ThumbSide, imaging.Lanczos), false); err != nil {
		return nil, err
	}
	out.Blurhash = blurhashOf(first)
	return out, nil
}

// decodeGIF decodes every frame once a scan of the file has shown they
// fit the limits: the frames of a small GIF can expand to gigabytes.
func decodeGIF(data []byte) (*gif.GIF, error) {
	frames, pixels, err := scanGIF(data)
	if err != nil {
		return nil, ErrUnreadable
	}
	if frames == 0 {
		return nil, ErrUnreadable
	}
	if frames > MaxGIFFrames || pixels > MaxGIFPixels {
		return nil, ErrLongAnimation
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil || len(g.Image) == 0 {
		return nil, ErrUnreadable
	}
	return g, nil
}

// firstFrame draws a GIF's first frame on its whole canvas.
func firstFrame(g *gif.GIF) image.Image {
	canvas := image.NewNRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
	f := g.Image[0]
	draw.Draw(canvas, f.Bounds(), f, f.Bounds().Min, draw.Over)
	return canvas
}

// encodeStill writes img as JPEG when it is opaque, else (or when
// keepPNG) as PNG.
func encodeStill(img image.Image, keepPNG bool) (Encoded, error) {
	b := img.Bounds()
	e := Encoded{Width: b.Dx(), Height: b.Dy()}
	var buf bytes.Buffer
	if keepPNG || !opaque(img) {
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
			return e, fmt.Errorf("encode png: %w", err)
		}
		e.ContentType = "image/png"
	} else {
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return e, fmt.Errorf("encode jpeg: %w", err)
		}
		e.ContentType = "image/jpeg"
	}
	e.Data = buf.Bytes()
	return e, nil
}

func opaque(img image.Image) bool {
	o, ok := img.(interface{ Opaque() bool })
	return ok && o.Opaque()
}
