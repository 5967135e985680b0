package markup

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Federated turns a post's stored HTML into what it is sent to other
// servers as: the subset Mastodon keeps, so the post reads the same
// there. Headings become bold paragraphs, a rule a paragraph of dashes,
// a table preformatted text in aligned columns, and an image a link to
// it (the images also travel as attachments). The Markdown the member
// wrote goes beside it as the Note's source, for servers that render it.
func Federated(stored string) string {
	if !strings.Contains(stored, "<h") && !strings.Contains(stored, "<table") && !strings.Contains(stored, "<img") {
		return stored // the common post: nothing to change, nothing to parse
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(stored), body)
	if err != nil {
		return stored
	}
	var b strings.Builder
	for _, n := range nodes {
		federate(n)
		if err := html.Render(&b, n); err != nil {
			return stored
		}
	}
	return b.String()
}

// federate rewrites n and what is under it in place.
func federate(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		federate(c)
		c = next
	}
	if n.Type != html.ElementNode {
		return
	}
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		strong := &html.Node{Type: html.ElementNode, Data: "strong", DataAtom: atom.Strong}
		moveChildren(n, strong)
		n.AppendChild(strong)
		n.Data, n.DataAtom, n.Attr = "p", atom.P, nil
	case atom.Hr:
		n.Data, n.DataAtom, n.Attr = "p", atom.P, nil
		n.AppendChild(&html.Node{Type: html.TextNode, Data: "———"})
	case atom.Table:
		text := tableText(n)
		for c := n.FirstChild; c != nil; c = n.FirstChild {
			n.RemoveChild(c)
		}
		n.Data, n.DataAtom, n.Attr = "pre", atom.Pre, nil
		n.AppendChild(&html.Node{Type: html.TextNode, Data: text})
	case atom.Img:
		src, alt := attr(n, "src"), attr(n, "alt")
		if alt == "" {
			alt = src
		}
		n.Data, n.DataAtom = "a", atom.A
		n.Attr = []html.Attribute{{Key: "href", Val: src}, {Key: "rel", Val: linkRel}}
		n.AppendChild(&html.Node{Type: html.TextNode, Data: alt})
	}
}

func moveChildren(from, to *html.Node) {
	for c := from.FirstChild; c != nil; c = from.FirstChild {
		from.RemoveChild(c)
		to.AppendChild(c)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// tableText lays a table out as lines of text, columns padded to their
// widest cell and separated by " | ", the header row underlined.
func tableText(table *html.Node) string {
	var rows [][]string
	header := 0 // rows in <thead>
	var walk func(n *html.Node, inHead bool)
	walk = func(n *html.Node, inHead bool) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.DataAtom {
			case atom.Thead:
				walk(c, true)
			case atom.Tbody, atom.Tfoot:
				walk(c, false)
			case atom.Tr:
				var row []string
				for cell := c.FirstChild; cell != nil; cell = cell.NextSibling {
					if cell.DataAtom == atom.Td || cell.DataAtom == atom.Th {
						row = append(row, strings.Join(strings.Fields(nodeText(cell)), " "))
					}
				}
				rows = append(rows, row)
				if inHead {
					header++
				}
			}
		}
	}
	walk(table, false)
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	line := func(cells []string, pad, sep string) {
		var l strings.Builder
		for i, w := range widths {
			if i > 0 {
				l.WriteString(sep)
			}
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			l.WriteString(cell + strings.Repeat(pad, w-utf8.RuneCountInString(cell)))
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	for i, row := range rows {
		line(row, " ", " | ")
		if i == header-1 {
			line(nil, "-", "-+-")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func nodeText(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(nodeText(c))
	}
	return b.String()
}
