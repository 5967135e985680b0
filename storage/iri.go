package storage

import "strings"

// Host names are case-insensitive, and so are URL schemes, so one remote
// server can spell its ids "https://Social.Example/users/bob" today and
// "https://social.example/users/bob" tomorrow. Stored and looked up as
// given, they would be two accounts, and a block of social.example would
// miss the first. Storage keeps one spelling: scheme and host in lower
// case, without a trailing dot or the scheme's default port. Paths stay as
// they are: they are case-sensitive.

// canonicalIRI is iri with its scheme and host in canonical form; a
// string that is not an absolute http(s) IRI comes back unchanged.
func canonicalIRI(iri string) string {
	scheme, rest, ok := strings.Cut(iri, "://")
	if !ok {
		return iri
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strings.Contains(authority, "@") {
		return iri // userinfo has no place in an actor id; leave it to be refused elsewhere
	}
	lscheme := strings.ToLower(scheme)
	if lscheme != "https" && lscheme != "http" {
		return iri
	}
	host := canonicalHost(authority, lscheme)
	if lscheme == scheme && host == authority {
		return iri // the common case allocates nothing
	}
	return lscheme + "://" + host + tail
}

// canonicalHost is a URL's host[:port] in lower case, without a trailing
// dot, and without the port scheme implies (443 for https, 80 for http).
func canonicalHost(host, scheme string) string {
	h := strings.ToLower(host)
	switch {
	case scheme == "https" && strings.HasSuffix(h, ":443"):
		h = strings.TrimSuffix(h, ":443")
	case scheme == "http" && strings.HasSuffix(h, ":80"):
		h = strings.TrimSuffix(h, ":80")
	}
	if name, port, ok := strings.Cut(h, ":"); ok && !strings.Contains(port, ":") {
		return strings.TrimSuffix(name, ".") + ":" + port
	}
	return strings.TrimSuffix(h, ".")
}

// canonicalIRIPtr is canonicalIRI for an optional id.
func canonicalIRIPtr(iri *string) *string {
	if iri == nil {
		return nil
	}
	c := canonicalIRI(*iri)
	if c == *iri {
		return iri
	}
	return &c
}
