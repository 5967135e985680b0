package signature

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// KeyBits is the size of generated actor keys. Mastodon verifies RSA only and
// generates 2048-bit keys itself; larger keys make every signature slower.
const KeyBits = 2048

// GenerateKey returns a new RSA key for an actor.
func GenerateKey() (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate rsa key: %w", err)
	}
	return key, nil
}

// EncodePrivateKeyPEM encodes key as a PKCS #8 "PRIVATE KEY" block.
func EncodePrivateKeyPEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("encode private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// EncodePublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" block, the form
// Mastodon publishes in an actor's publicKeyPem.
func EncodePublicKeyPEM(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// MaxKeyBits is the largest remote RSA key accepted. Verifying costs
// grow with the key: a 46,000-bit key takes about 35 ms of CPU per
// signature, so anyone could make each request expensive. Mastodon and
// GoToSocial use 2048 bits, a few servers 4096.
const MaxKeyBits = 4096

// ErrKeyTooLarge refuses a public key larger than [MaxKeyBits].
var ErrKeyTooLarge = fmt.Errorf("RSA key larger than %d bits", MaxKeyBits)

// ParsePublicKeyPEM parses the first PEM block of s as an RSA public key
// of at most [MaxKeyBits]. Both PKIX ("PUBLIC KEY") and PKCS #1 ("RSA
// PUBLIC KEY") are accepted, in either label, because remote servers do
// not always label their keys correctly.
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("parse public key: no PEM block")
	}
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		rsaPub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("parse public key: %T is not an RSA key", k)
		}
		pub = rsaPub
	} else if pub, err = x509.ParsePKCS1PublicKey(block.Bytes); err != nil {
		return nil, fmt.Errorf("parse public key (%s block): %w", block.Type, err)
	}
	if n := pub.N.BitLen(); n > MaxKeyBits {
		return nil, fmt.Errorf("parse public key: %w: %d bits", ErrKeyTooLarge, n)
	}
	return pub, nil
}

// ParsePrivateKeyPEM parses the first PEM block of s as an RSA private key in
// PKCS #8 ("PRIVATE KEY") or PKCS #1 ("RSA PRIVATE KEY") form.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("parse private key: no PEM block")
	}
	if key, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("parse private key: %T is not an RSA key", key)
		}
		return rsaKey, nil
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key (%s block): %w", block.Type, err)
	}
	return key, nil
}
