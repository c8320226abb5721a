package remote

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// The environment variables that hold secrets for unattended runs. Their
// values are never logged or put in errors.
const (
	EnvKeyPassphrase = "STRATA_SSH_PASSPHRASE"
	EnvSudoPassword  = "STRATA_SUDO_PASSWORD"
)

// Prompter asks the operator for a secret (the CLI reads it from the
// terminal without echo). It returns an error when nobody can answer.
type Prompter func(ctx context.Context, prompt string) (string, error)

// credentials loads and caches what a pool authenticates with: signers per
// key file (asking for a passphrase at most once per file) and the sudo
// password (asked at most once per pool).
type credentials struct {
	getenv func(string) string
	prompt Prompter
	home   string

	mu      sync.Mutex
	keys    map[string][]ssh.Signer
	sudoPwd *string
}

// defaultKeyFiles are tried, when they exist, if nothing names a key file.
func defaultKeyFiles() []string {
	return []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}
}

// signers returns the agent's signers (when useAgent and SSH_AUTH_SOCK is
// set) then those of the key files: explicit ones must exist, ssh_config
// ones are skipped when missing, and the defaults are used only when no
// file is named at all. The returned closer ends the agent connection; the
// caller closes it after the handshake.
func (c *credentials) signers(ctx context.Context, explicit, fromConfig []string, useAgent bool) ([]ssh.Signer, io.Closer, error) {
	var all []ssh.Signer
	var closer io.Closer = io.NopCloser(nil)
	if sock := c.getenv("SSH_AUTH_SOCK"); useAgent && sock != "" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "unix", sock)
		if err != nil {
			return nil, nil, fmt.Errorf("ssh agent at %s: %w", sock, err)
		}
		agentSigners, err := agent.NewClient(conn).Signers()
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("ssh agent at %s: %w", sock, err)
		}
		all, closer = append(all, agentSigners...), conn
	}
	optional := fromConfig
	if len(explicit) == 0 && len(fromConfig) == 0 {
		optional = defaultKeyFiles()
	}
	for _, f := range explicit {
		s, err := c.keyFile(ctx, expandHome(f, c.home))
		if err != nil {
			closer.Close()
			return nil, nil, err
		}
		all = append(all, s...)
	}
	for _, f := range optional {
		s, err := c.keyFile(ctx, expandHome(f, c.home))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			closer.Close()
			return nil, nil, err
		}
		all = append(all, s...)
	}
	if len(all) == 0 {
		return nil, nil, errors.New("no SSH credentials: no usable agent (SSH_AUTH_SOCK) and no private key file; set ssh.private_key_files")
	}
	return all, closer, nil
}

// keyFile loads a private key, and its certificate from FILE-cert.pub when
// there is one (the certificate is offered first).
func (c *credentials) keyFile(ctx context.Context, path string) ([]ssh.Signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.keys[path]; ok {
		return s, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		signer, err = c.decrypt(ctx, path, pem)
	}
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	signers := []ssh.Signer{signer}
	if cert, err := readCertificate(path + "-cert.pub"); err != nil {
		return nil, err
	} else if cert != nil {
		certSigner, err := ssh.NewCertSigner(cert, signer)
		if err != nil {
			return nil, fmt.Errorf("certificate %s-cert.pub: %w", path, err)
		}
		signers = []ssh.Signer{certSigner, signer}
	}
	if c.keys == nil {
		c.keys = map[string][]ssh.Signer{}
	}
	c.keys[path] = signers
	return signers, nil
}

// decrypt opens an encrypted key with the passphrase from the environment,
// or else from the prompt. The error never contains the passphrase.
func (c *credentials) decrypt(ctx context.Context, path string, pem []byte) (ssh.Signer, error) {
	pass := c.getenv(EnvKeyPassphrase)
	if pass == "" {
		if c.prompt == nil {
			return nil, fmt.Errorf("the key is encrypted: set %s or run from a terminal to be asked", EnvKeyPassphrase)
		}
		var err error
		pass, err = c.prompt(ctx, fmt.Sprintf("Passphrase for %s: ", path))
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
	}
	signer, err := ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, errors.New("wrong passphrase")
	}
	return signer, err
}

func readCertificate(path string) (*ssh.Certificate, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("certificate %s: holds a plain %s key, not a certificate", filepath.Base(path), pub.Type())
	}
	return cert, nil
}

// sudoPassword returns the sudo password from the environment or the
// prompt, asking at most once per pool.
func (c *credentials) sudoPassword(ctx context.Context, host string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sudoPwd != nil {
		return *c.sudoPwd, nil
	}
	pwd := c.getenv(EnvSudoPassword)
	if pwd == "" {
		if c.prompt == nil {
			return "", fmt.Errorf("%s: sudo needs a password: configure NOPASSWD, set %s, or run from a terminal to be asked", host, EnvSudoPassword)
		}
		var err error
		pwd, err = c.prompt(ctx, "sudo password: ")
		if err != nil {
			return "", fmt.Errorf("%s: sudo password: %w", host, err)
		}
	}
	c.sudoPwd = &pwd
	return pwd, nil
}
