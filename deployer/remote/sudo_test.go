package remote

import (
	"context"
	"io"
	"strings"
	"testing"
)

// With a sudo password the command line carries no secret: sudo reads the
// password as the first line of stdin, and the command gets the rest.
func TestSudoPasswordGoesOnStdin(t *testing.T) {
	const secret = "s3cret-pw"
	s := &SSH{
		name:     "db1",
		route:    route{Target: endpoint{User: "deploy"}},
		creds:    &credentials{getenv: func(k string) string { return map[string]string{EnvSudoPassword: secret}[k] }},
		sudoMode: sudoPassword,
	}
	cmd, stdin, err := s.privileged(context.Background(), "install -d /opt/strata", RunOpts{Sudo: true, Stdin: strings.NewReader("payload")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cmd, secret) {
		t.Errorf("the command line %q contains the password", cmd)
	}
	if want := "sudo -S -k -p '' -- /bin/sh -c 'install -d /opt/strata'"; cmd != want {
		t.Errorf("command = %q, want %q", cmd, want)
	}
	in, _ := io.ReadAll(stdin)
	if string(in) != secret+"\npayload" {
		t.Errorf("stdin = %q, want the password line then the payload", in)
	}
}

func TestSudoNoPasswordAvailable(t *testing.T) {
	s := &SSH{
		name:     "db1",
		route:    route{Target: endpoint{User: "deploy"}},
		creds:    &credentials{getenv: func(string) string { return "" }},
		sudoMode: sudoPassword,
	}
	_, _, err := s.privileged(context.Background(), "true", RunOpts{Sudo: true})
	if err == nil || !strings.Contains(err.Error(), EnvSudoPassword) || !strings.Contains(err.Error(), "db1") {
		t.Errorf("privileged = %v; want an error naming the host and %s", err, EnvSudoPassword)
	}
}

func TestSudoNoPasswdWrapping(t *testing.T) {
	s := &SSH{name: "db1", route: route{Target: endpoint{User: "deploy"}}, sudoMode: sudoNoPasswd}
	cmd, _, err := s.privileged(context.Background(), "echo 'hi'", RunOpts{Sudo: true})
	if want := `sudo -n -- /bin/sh -c 'echo '\''hi'\'''`; err != nil || cmd != want {
		t.Errorf("command = %q, %v; want %q", cmd, err, want)
	}
}
