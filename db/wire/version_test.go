package wire

import (
	"testing"
)

func TestCompatible(t *testing.T) {
	v := NewProtocolVersion
	tests := []struct {
		name          string
		local, remote ProtocolVersion
		want          bool
	}{
		{"same version", v(1, 4, 2), v(1, 4, 2), true},
		{"patches mix", v(1, 4, 0), v(1, 4, 9), true},
		{"remote one minor older", v(1, 4, 0), v(1, 3, 7), true},
		{"remote one minor newer", v(1, 3, 7), v(1, 4, 0), true},
		{"remote two minors older", v(1, 4, 0), v(1, 2, 0), false},
		{"remote two minors newer", v(1, 2, 0), v(1, 4, 0), false},
		{"minor 0 and 1", v(0, 0, 0), v(0, 1, 0), true},
		{"different majors, same minor", v(1, 0, 0), v(2, 0, 0), false},
		{"adjacent majors, last and first minor", v(1, 9, 0), v(2, 0, 0), false},
		{"largest minors", v(3, 0xffff, 0), v(3, 0xfffe, 0), true},
		{"remote without magic", v(1, 4, 0), ProtocolVersion(uint64(v(1, 4, 0)) &^ (0xffff << 48)), false},
		{"local without magic", ProtocolVersion(1 << 32), v(1, 0, 0), false},
		{"FoundationDB-style value", v(7, 3, 0), ProtocolVersion(0x0FDB00B073000000), false},
		{"zero", ProtocolVersion(0), ProtocolVersion(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compatible(tt.local, tt.remote); got != tt.want {
				t.Errorf("Compatible(%s, %s) = %v, want %v", tt.local, tt.remote, got, tt.want)
			}
			if got := Compatible(tt.remote, tt.local); got != tt.want {
				t.Errorf("Compatible is not symmetric: Compatible(%s, %s) = %v, want %v", tt.remote, tt.local, got, tt.want)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	v := NewProtocolVersion
	tests := []struct {
		name          string
		local, remote ProtocolVersion
		want          ProtocolVersion
		wantErr       bool
	}{
		{"same minor, patch dropped", v(1, 4, 3), v(1, 4, 1), v(1, 4, 0), false},
		{"newer local talks down", v(1, 5, 0), v(1, 4, 2), v(1, 4, 0), false},
		{"older local stays", v(1, 4, 2), v(1, 5, 0), v(1, 4, 0), false},
		{"two minors apart", v(1, 6, 0), v(1, 4, 0), 0, true},
		{"different majors", v(2, 0, 0), v(1, 9, 0), 0, true},
		{"invalid magic", v(1, 4, 0), ProtocolVersion(4 << 16), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Negotiate(tt.local, tt.remote)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Negotiate(%s, %s) error = %v, want error: %v", tt.local, tt.remote, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Negotiate(%s, %s) = %s, want %s", tt.local, tt.remote, got, tt.want)
			}
			if !tt.wantErr && !Compatible(got, tt.local) || !tt.wantErr && !Compatible(got, tt.remote) {
				t.Errorf("negotiated %s is not spoken by both %s and %s", got, tt.local, tt.remote)
			}
		})
	}
}

func TestProtocolVersionLayout(t *testing.T) {
	v := NewProtocolVersion(2, 7, 13)
	if uint64(v) != 0x5354_0002_0007_000d {
		t.Errorf("NewProtocolVersion(2, 7, 13) = %#x, want 0x53540002 0007000d", uint64(v))
	}
	if v.Major() != 2 || v.Minor() != 7 || v.Patch() != 13 || v.String() != "2.7.13" {
		t.Errorf("components of %#x: %d.%d.%d (%q), want 2.7.13", uint64(v), v.Major(), v.Minor(), v.Patch(), v.String())
	}
	if !(NewProtocolVersion(1, 9, 9) < NewProtocolVersion(2, 0, 0) && NewProtocolVersion(1, 2, 9) < NewProtocolVersion(1, 3, 0)) {
		t.Error("versions do not compare numerically in release order")
	}
	if got, want := v.Previous(), NewProtocolVersion(2, 6, 0); got != want {
		t.Errorf("Previous() = %s, want %s", got, want)
	}
	if got, want := NewProtocolVersion(2, 0, 4).Previous(), NewProtocolVersion(2, 0, 0); got != want {
		t.Errorf("Previous() of minor 0 = %s, want %s", got, want)
	}
	if !CurrentProtocol.Valid() || !Compatible(CurrentProtocol, CurrentProtocol.Previous()) {
		t.Errorf("CurrentProtocol %s does not speak its previous minor %s", CurrentProtocol, CurrentProtocol.Previous())
	}
}
