package markup

import (
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mention is one @name or @name@host typed in a post.
type Mention struct {
	// Name is the name as typed, without the @.
	Name string
	// Host is the server, lower-cased, with its port when one was typed
	// ("social.example", "localhost:8080"); empty for a bare @name.
	Host string
}

// ProfileURL is where a mention of someone on another server links when
// nothing better is known: https://host/@name, the profile page Mastodon
// and most fediverse software answer.
func ProfileURL(m Mention) string { return "https://" + m.Host + "/@" + m.Name }

// Bounds of what reads as a mention: member handles are at most 30
// characters; names elsewhere may be longer and hold dots and dashes.
const (
	maxLocalName  = 30
	maxRemoteName = 64
	maxHost       = 253
	maxLabel      = 63
)

// LinkMentions links the mentions in sanitized post HTML. link says where
// each goes; ok false leaves the text as typed, so a typo links nowhere.
// Links to other servers (a Host is set) carry rel="nofollow ugc
// noopener", as every link members write does. Text inside links, code
// and pre blocks is left alone, and so is anything that reads as an
// e-mail address, a URL or a path.
func LinkMentions(h string, link func(Mention) (href string, ok bool)) string {
	if !strings.Contains(h, "@") {
		return h
	}
	var b strings.Builder
	skip := 0 // depth inside <a>, <code> or <pre>
	for len(h) > 0 {
		lt := strings.IndexByte(h, '<')
		if lt < 0 {
			lt = len(h)
		}
		text := h[:lt]
		if skip == 0 {
			text = linkText(text, link)
		}
		b.WriteString(text)
		h = h[lt:]
		if h == "" {
			break
		}
		gt := strings.IndexByte(h, '>')
		if gt < 0 {
			b.WriteString(h)
			break
		}
		tag := h[:gt+1]
		switch name := tagName(tag); name {
		case "a", "code", "pre":
			skip++
		case "/a", "/code", "/pre":
			if skip > 0 {
				skip--
			}
		}
		b.WriteString(tag)
		h = h[gt+1:]
	}
	return b.String()
}

func tagName(tag string) string {
	t := strings.TrimPrefix(tag, "<")
	end := strings.IndexAny(t, " \t\n/>")
	if strings.HasPrefix(t, "/") {
		end = strings.IndexAny(t[1:], " \t\n>")
		if end >= 0 {
			end++
		}
	}
	if end < 0 {
		end = len(t)
	}
	return strings.ToLower(t[:end])
}

// linkText links the mentions in one run of text between tags. The text
// is sanitized HTML, so & < > and quotes in it are already escaped; the
// character before an @ may therefore be the ; of an entity, which counts
// as part of a word.
func linkText(text string, link func(Mention) (string, bool)) string {
	if !strings.Contains(text, "@") {
		return text
	}
	var b strings.Builder
	done := 0 // text[:done] is written
	for i := 0; i < len(text); {
		at := strings.IndexByte(text[i:], '@')
		if at < 0 {
			break
		}
		at += i
		m, end := parseMention(text, at)
		if end == 0 {
			i = at + 1
			continue
		}
		href, ok := link(m)
		if !ok {
			i = end
			continue
		}
		typed := text[at:end]
		if m.Host != "" {
			// The name as typed, the host as normalised (lower case).
			typed = "@" + m.Name + "@" + m.Host
		}
		b.WriteString(text[done:at])
		b.WriteString(`<a href="` + html.EscapeString(href) + `" class="mention"`)
		if m.Host != "" {
			b.WriteString(` rel="` + linkRel + `"`)
		}
		b.WriteString(">" + typed + "</a>")
		done, i = end, end
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// parseMention reads a mention starting at text[at] == '@'. It returns
// the mention and the end of its text, or end 0 when none starts there.
func parseMention(text string, at int) (m Mention, end int) {
	if at > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:at])
		if unicode.IsLetter(r) || unicode.IsNumber(r) || strings.ContainsRune("_@/.:&;=+-", r) {
			return Mention{}, 0
		}
	}
	// A name on another server may hold dots and dashes inside it.
	j := at + 1
	for j < len(text) && j-at-1 < maxRemoteName && (isNameByte(text[j]) || text[j] == '.' || text[j] == '-') {
		j++
	}
	for j > at+1 && (text[j-1] == '.' || text[j-1] == '-') {
		j--
	}
	if j > at+1 && j < len(text) && text[j] == '@' && isNameByte(text[at+1]) {
		host, hostEnd := parseHost(text, j+1)
		if hostEnd == 0 {
			return Mention{}, 0 // "@name@" and no server: not a mention
		}
		return Mention{Name: text[at+1 : j], Host: host}, hostEnd
	}
	// A bare name is a member handle: letters, digits and underscores.
	i := at + 1
	for i < len(text) && isNameByte(text[i]) {
		i++
	}
	if i == at+1 || i-at-1 > maxLocalName {
		return Mention{}, 0
	}
	if i+1 < len(text) && (text[i] == '.' || text[i] == '-') && isNameByte(text[i+1]) {
		// "@first.last" names nobody here; do not link "@first" of it.
		return Mention{}, 0
	}
	return Mention{Name: text[at+1 : i]}, i
}

// parseHost reads host[:port] at text[start:]: dot-separated labels of
// letters, digits and dashes (a single label such as localhost counts),
// then an optional port. A dot that ends a sentence is not part of the
// host, and a port must be 1 to 65535. It returns the host lower-cased
// and where it ends, or end 0.
func parseHost(text string, start int) (host string, end int) {
	i := start
	lastGood := 0
	for {
		label := i
		for i < len(text) && i-label < maxLabel && isLabelByte(text[i]) {
			i++
		}
		if i == label || text[label] == '-' || text[i-1] == '-' {
			break
		}
		if i < len(text) && isLabelByte(text[i]) {
			return "", 0 // a label longer than DNS allows
		}
		lastGood = i
		if i+1 < len(text) && text[i] == '.' && isLabelByte(text[i+1]) {
			i++
			continue
		}
		break
	}
	if lastGood == 0 || lastGood-start > maxHost {
		return "", 0
	}
	end = lastGood
	if end < len(text) && text[end] == '_' {
		return "", 0
	}
	if end+1 < len(text) && text[end] == ':' && isDigit(text[end+1]) {
		p := end + 1
		for p < len(text) && isDigit(text[p]) {
			p++
		}
		n, err := strconv.Atoi(text[end+1 : p])
		switch {
		case p < len(text) && (isLabelByte(text[p]) || text[p] == '_'):
			// "host:80x" is not a port; leave the host alone too.
			return "", 0
		case err != nil || n < 1 || n > 65535 || text[end+1] == '0':
			return "", 0
		}
		end = p
	}
	return strings.ToLower(text[start:end]), end
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isLabelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
