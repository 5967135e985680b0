// Package signature signs and verifies HTTP requests with HTTP Signatures
// (draft-cavage-http-signatures) the way Mastodon sends and accepts them:
// RSA-SHA256 over "(request-target) host date" for GETs and additionally
// "digest" for requests with a body.
//
// go-fed/httpsig does the signing-string and RSA work; this package owns
// everything it leaves out: a tolerant parser for the Signature header, the
// required set of signed headers, the Digest check against the body, the
// Date window and the algorithm policy. It also holds the PEM helpers for
// actor keys.
package signature
