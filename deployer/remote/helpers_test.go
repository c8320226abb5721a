package remote_test

import (
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/strata-db/strata/test/e2e/testhost"
)

func sshAuthorizedKey(h *testhost.Host) []byte { return ssh.MarshalAuthorizedKey(h.HostKey) }

func fingerprint(h *testhost.Host) string { return ssh.FingerprintSHA256(h.HostKey) }

// writeEncryptedClientKey writes the hosts' client key again, encrypted
// with passphrase.
func writeEncryptedClientKey(c *testhost.Cluster, path, passphrase string) error {
	raw, err := os.ReadFile(c.ClientKey)
	if err != nil {
		return err
	}
	key, err := ssh.ParseRawPrivateKey(raw)
	if err != nil {
		return err
	}
	priv, ok := key.(*ed25519.PrivateKey)
	if !ok {
		return fmt.Errorf("client key is %T, want ed25519", key)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(*priv, "enc", []byte(passphrase))
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}
