package markup

import (
	"html"
	"regexp"
	"strings"
)

// mention matches @name and @name@server in text. The character before
// the @ must not belong to a word, an address or a path, so e-mail
// addresses and URLs are left alone; group 1 keeps that character.
var mention = regexp.MustCompile(`(^|[^\p{L}\p{N}_@/.:&;=+-])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+))?`)

// LinkMentions links the mentions in sanitized post HTML: @name to the
// member's profile when local returns its URL (ok false leaves the text
// as it is, so a typo links nowhere), and @name@server to that server's
// profile page https://server/@name, the form Mastodon and most fediverse
// software answer. Text inside links, code and pre blocks is left alone.
// Links to other servers carry rel="nofollow ugc noopener", as every link
// members write does.
func LinkMentions(h string, local func(handle string) (url string, ok bool)) string {
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
			text = linkText(text, local)
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

func linkText(text string, local func(string) (string, bool)) string {
	if !strings.Contains(text, "@") {
		return text
	}
	return mention.ReplaceAllStringFunc(text, func(m string) string {
		sub := mention.FindStringSubmatch(m)
		lead, name, server := sub[1], sub[2], strings.ToLower(sub[3])
		if server != "" {
			href := "https://" + server + "/@" + name
			return lead + `<a href="` + html.EscapeString(href) + `" class="mention" rel="nofollow ugc noopener">@` +
				name + "@" + server + "</a>"
		}
		href, ok := local(strings.ToLower(name))
		if !ok {
			return m
		}
		return lead + `<a href="` + html.EscapeString(href) + `" class="mention">@` + name + "</a>"
	})
}
