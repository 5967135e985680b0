package markup

import (
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

var mediaPrefixKey = parser.NewContextKey()

// postShape adjusts a parsed post before it is rendered: headings go one
// level down (the page's title is its <h1>), and an image that is not one
// of this node's uploads (see RenderPost) becomes a link to it, its alt
// text the link's text.
type postShape struct{}

func (postShape) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	prefix, _ := pc.Get(mediaPrefixKey).(string)
	var foreign []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			n.Level = min(n.Level+1, 6)
		case *ast.Image:
			if prefix != "" && ownMedia(string(n.Destination), prefix) {
				n.SetAttributeString("loading", []byte("lazy"))
			} else {
				foreign = append(foreign, n)
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	for _, img := range foreign {
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString(img.Destination))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}

// ownMedia reports whether dest is a file under prefix: one plain key.
func ownMedia(dest, prefix string) bool {
	key, ok := strings.CutPrefix(dest, prefix)
	if !ok || key == "" {
		return false
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
