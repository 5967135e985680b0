package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"
)

// gradient is an opaque test picture: red grows to the right, green
// downwards, so a rotation or a flip shows in the corners.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(255 * x / w), uint8(255 * y / h), 90, 255})
		}
	}
	return img
}

// withExif puts an APP1 Exif segment right after a JPEG's SOI marker:
// the orientation tag and an ImageDescription holding secret, standing in
// for the GPS position and camera details a phone writes.
func withExif(t *testing.T, jpg []byte, orientation uint16, secret string) []byte {
	t.Helper()
	var tiff bytes.Buffer
	le := binary.LittleEndian
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, le, uint32(8)) // IFD0 offset
	desc := append([]byte(secret), 0)
	binary.Write(&tiff, le, uint16(2)) // two entries
	// ImageDescription, ASCII, stored after the IFD.
	binary.Write(&tiff, le, uint16(0x010e))
	binary.Write(&tiff, le, uint16(2))
	binary.Write(&tiff, le, uint32(len(desc)))
	binary.Write(&tiff, le, uint32(8+2+2*12+4))
	// Orientation, SHORT, inline.
	binary.Write(&tiff, le, uint16(0x0112))
	binary.Write(&tiff, le, uint16(3))
	binary.Write(&tiff, le, uint32(1))
	binary.Write(&tiff, le, orientation)
	binary.Write(&tiff, le, uint16(0))
	binary.Write(&tiff, le, uint32(0)) // no next IFD
	tiff.Write(desc)
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(jpg[2:])
	return out.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(t *testing.T, e Encoded) image.Image {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(e.Data))
	if err != nil {
		t.Fatalf("stored %s does not decode: %v", e.ContentType, err)
	}
	if "image/"+format != e.ContentType || ContentType(e.Data) != e.ContentType {
		t.Fatalf("stored bytes are %s (sniffed %q), labelled %s", format, ContentType(e.Data), e.ContentType)
	}
	if b := img.Bounds(); b.Dx() != e.Width || b.Dy() != e.Height {
		t.Fatalf("stored image is %dx%d, labelled %dx%d", b.Dx(), b.Dy(), e.Width, e.Height)
	}
	return img
}

// A phone's JPEG loses its EXIF (GPS, camera, the secret here) and is
// turned upright by the orientation it carried.
func TestProcessStripsExifAndTurnsUpright(t *testing.T) {
	const secret = "GPS 52.3702N 4.8952E Pixel 9"
	src := withExif(t, encodeJPEG(t, gradient(60, 30)), 6, secret) // 6: rotate 90° clockwise to view
	if !bytes.Contains(src, []byte(secret)) {
		t.Fatal("test image lacks its metadata")
	}
	p, err := Process(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Encoded{p.Image, p.Thumb} {
		if bytes.Contains(e.Data, []byte(secret)) || bytes.Contains(e.Data, []byte("Exif")) {
			t.Fatalf("%s kept the metadata", e.ContentType)
		}
		if e.ContentType != "image/jpeg" {
			t.Fatalf("a photo stored as %s", e.ContentType)
		}
	}
	img := decode(t, p.Image)
	if p.Image.Width != 30 || p.Image.Height != 60 {
		t.Fatalf("upright image is %dx%d, want 30x60", p.Image.Width, p.Image.Height)
	}
	// Turned clockwise, the original's bottom-left (green, no red) is at
	// the top-left.
	r, g, _, _ := img.At(1, 1).RGBA()
	if r>>8 > 60 || g>>8 < 180 {
		t.Fatalf("top-left after turning is r=%d g=%d, want green", r>>8, g>>8)
	}
}

func TestProcessPNGStaysPNGWithoutItsChunks(t *testing.T) {
	src := encodePNG(t, gradient(900, 300))
	// A tEXt chunk before IEND, as editors and cameras write them.
	data := []byte("tEXtAuthor\x00Zed at 52.37N")
	var chunk bytes.Buffer
	binary.Write(&chunk, binary.BigEndian, uint32(len(data)-4))
	chunk.Write(data)
	binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(data))
	iend := len(src) - 12
	src = append(src[:iend:iend], append(chunk.Bytes(), src[iend:]...)...)
	if _, err := png.Decode(bytes.NewReader(src)); err != nil {
		t.Fatalf("test image: %v", err)
	}
	p, err := Process(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Image.ContentType != "image/png" || p.Image.Width != 900 {
		t.Fatalf("stored %s %dx%d", p.Image.ContentType, p.Image.Width, p.Image.Height)
	}
	if bytes.Contains(p.Image.Data, []byte("Zed")) {
		t.Fatal("the text chunk was kept")
	}
	decode(t, p.Image)
	th := decode(t, p.Thumb)
	if b := th.Bounds(); b.Dx() != ThumbSide || b.Dy() != ThumbSide/3 {
		t.Fatalf("thumbnail %v, want %dx%d", b, ThumbSide, ThumbSide/3)
	}
}

func TestProcessScalesDownHugeStills(t *testing.T) {
	p, err := Process(bytes.NewReader(encodeJPEG(t, gradient(4000, 1000))))
	if err != nil {
		t.Fatal(err)
	}
	if p.Image.Width != MaxSide || p.Image.Height != MaxSide/4 {
		t.Fatalf("stored %dx%d, want %dx%d", p.Image.Width, p.Image.Height, MaxSide, MaxSide/4)
	}
}

// WebP has no pure-Go encoder: an opaque one is stored as JPEG, one with
// transparency as PNG, and the transparency survives.
func TestProcessWebP(t *testing.T) {
	for _, c := range []struct{ file, want string }{{"photo.webp", "image/jpeg"}, {"alpha.webp", "image/png"}} {
		src, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		if ContentType(src) != "image/webp" {
			t.Fatalf("%s sniffed as %q", c.file, ContentType(src))
		}
		p, err := Process(bytes.NewReader(src))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if p.Image.ContentType != c.want || p.Image.Width != 96 || p.Image.Height != 64 {
			t.Fatalf("%s stored as %s %dx%d", c.file, p.Image.ContentType, p.Image.Width, p.Image.Height)
		}
		img := decode(t, p.Image)
		if c.file == "alpha.webp" {
			if _, _, _, a := img.At(10, 10).RGBA(); a>>8 > 120 {
				t.Fatalf("transparency lost: alpha %d", a>>8)
			}
		}
	}
}

// An animated GIF keeps its frames and timing but not its comment; its
// thumbnail is the first frame.
func TestProcessGIF(t *testing.T) {
	pal := color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}}
	g := &gif.GIF{LoopCount: 0}
	for i := range 3 {
		f := image.NewPaletted(image.Rect(0, 0, 40, 20), pal)
		for j := range f.Pix {
			f.Pix[j] = uint8(i % 2) // red, blue, red
		}
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10*(i+1))
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	src := b.Bytes()
	// A comment extension before the trailer.
	comment := []byte("\x21\xfe\x0bmade-in-zed\x00")
	src = append(src[:len(src)-1:len(src)-1], append(comment, 0x3b)...)
	if frames, _, err := scanGIF(src); err != nil || frames != 3 {
		t.Fatalf("scan: %d frames, %v", frames, err)
	}
	p, err := Process(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Image.ContentType != "image/gif" || bytes.Contains(p.Image.Data, []byte("made-in-zed")) {
		t.Fatalf("stored %s, comment kept: %v", p.Image.ContentType, bytes.Contains(p.Image.Data, []byte("made-in-zed")))
	}
	out, err := gif.DecodeAll(bytes.NewReader(p.Image.Data))
	if err != nil || len(out.Image) != 3 || out.Delay[2] != 30 {
		t.Fatalf("stored animation: %v, %d frames", err, len(out.Image))
	}
	th := decode(t, p.Thumb)
	if r, _, bl, _ := th.At(5, 5).RGBA(); r>>8 < 200 || bl>>8 > 50 {
		t.Fatalf("thumbnail is not the first (red) frame: r=%d b=%d", r>>8, bl>>8)
	}
}

func TestProcessAvatarIsASquare(t *testing.T) {
	e, err := ProcessAvatar(bytes.NewReader(encodeJPEG(t, gradient(600, 300))))
	if err != nil {
		t.Fatal(err)
	}
	decode(t, *e)
	if e.Width != AvatarSide || e.Height != AvatarSide {
		t.Fatalf("avatar %dx%d", e.Width, e.Height)
	}
}

// What is refused is refused on the bytes, with a sentence to show.
func TestProcessRefuses(t *testing.T) {
	bigCanvas := encodePNG(t, image.NewGray(image.Rect(0, 0, 5000, 4100))) // 20.5 Mpx, a small file
	truncated := encodeJPEG(t, gradient(200, 200))
	truncated = truncated[:len(truncated)/3]
	manyFrames := func() []byte {
		g := &gif.GIF{}
		pal := color.Palette{color.Black, color.White}
		for range MaxGIFFrames + 1 {
			g.Image = append(g.Image, image.NewPaletted(image.Rect(0, 0, 2, 2), pal))
			g.Delay = append(g.Delay, 1)
		}
		var b bytes.Buffer
		gif.EncodeAll(&b, g)
		return b.Bytes()
	}()
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"text named .png", []byte("just some words, not a picture at all"), ErrNotImage},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ErrNotImage},
		{"html", []byte("<!doctype html><html><body>hi</body></html>"), ErrNotImage},
		{"empty", nil, ErrNotImage},
		{"too many pixels", bigCanvas, ErrTooManyPixels},
		{"too large", append(encodePNG(t, gradient(10, 10)), make([]byte, MaxFileBytes)...), ErrTooLarge},
		{"damaged jpeg", truncated, ErrUnreadable},
		{"endless gif", manyFrames, ErrLongAnimation},
	} {
		_, err := Process(bytes.NewReader(c.data))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) || !strings.HasSuffix(r.Message, ".") {
			t.Errorf("%s: %v is not a sentence to show", c.name, err)
		}
	}
}

// Every processed image gets a blurhash: 4×3 components, so 28
// characters, the first of which says so.
func TestProcessGivesBlurhash(t *testing.T) {
	p, err := Process(bytes.NewReader(encodePNG(t, gradient(300, 200))))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Blurhash) != 28 || p.Blurhash[0] != 'L' {
		t.Errorf("blurhash %q", p.Blurhash)
	}
}
