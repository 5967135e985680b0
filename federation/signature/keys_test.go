package signature

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
)

// Remote keys are refused above MaxKeyBits when parsed, before anything
// is verified with them, in either PEM form.
func TestParsePublicKeySizeCap(t *testing.T) {
	for _, c := range []struct {
		bits int
		ok   bool
	}{{2048, true}, {4096, true}, {4097, false}, {8192, false}, {46000, false}} {
		// An odd modulus of exactly c.bits bits; parsing never factors it.
		n := new(big.Int).Lsh(big.NewInt(1), uint(c.bits-1))
		n.SetBit(n, 0, 1)
		pub := &rsa.PublicKey{N: n, E: 65537}
		pkix, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range []*pem.Block{
			{Type: "PUBLIC KEY", Bytes: pkix},
			{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)},
		} {
			_, err := ParsePublicKeyPEM(string(pem.EncodeToMemory(block)))
			if c.ok && err != nil {
				t.Errorf("%d bits, %s: %v", c.bits, block.Type, err)
			}
			if !c.ok && !errors.Is(err, ErrKeyTooLarge) {
				t.Errorf("%d bits, %s: %v, want ErrKeyTooLarge", c.bits, block.Type, err)
			}
		}
	}
}
