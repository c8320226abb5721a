package wire

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// vtMessage is a message with vtprotobuf's generated marshalling, which
// flow.ProtoCodec prefers.
type vtMessage interface {
	proto.Message
	MarshalVT() ([]byte, error)
	UnmarshalVT([]byte) error
}

// hotMessages are fresh messages of the transaction path's busiest types.
func hotMessages() []func() vtMessage {
	return []func() vtMessage{
		func() vtMessage { return &CommitTransactionRequest{} },
		func() vtMessage { return &TLogCommitRequest{} },
		func() vtMessage { return &TLogPeekReply{} },
		func() vtMessage { return &ResolveTransactionBatchRequest{} },
		func() vtMessage { return &GetKeyValuesReply{} },
	}
}

// FuzzGeneratedMarshalling holds vtprotobuf's generated code to the
// reflection-driven library on arbitrary bytes: it never panics; what both
// accept decodes to equal messages; and it marshals a message to the same
// bytes as the library's deterministic marshalling. The two may disagree
// on malformed input: the library keeps a known field sent with the wrong
// wire type as an unknown field where the generated code rejects it, and
// only the library checks strings for UTF-8. Unknown fields, which both
// keep but not byte for byte alike, are left out of the comparison.
func FuzzGeneratedMarshalling(f *testing.F) {
	for _, m := range []proto.Message{
		&CommitTransactionRequest{ReadVersion: 7, Mutations: []*Mutation{{Type: 0, Key: []byte("k"), Param: []byte("v")}},
			ReadConflictRanges: []*KeyRange{{Begin: []byte("a"), End: []byte("b")}}},
		&TLogCommitRequest{Version: 9, PrevVersion: 8, Messages: []*TaggedMutations{{Tag: 2,
			Mutations: []*Mutation{{Type: 1, Key: []byte("x"), Param: []byte{1, 0, 0, 0}}}}}},
	} {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fresh := range hotMessages() {
			vt, lib := fresh(), fresh()
			if vt.UnmarshalVT(data) != nil || proto.Unmarshal(data, lib) != nil {
				continue
			}
			discardUnknown(vt.ProtoReflect())
			discardUnknown(lib.ProtoReflect())
			if !proto.Equal(vt, lib) {
				t.Fatalf("%T: %x decodes to %v, the library to %v", lib, data, vt, lib)
			}
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(lib)
			if err != nil {
				continue
			}
			got, err := vt.MarshalVT()
			if err != nil {
				t.Fatalf("%T: MarshalVT: %v", lib, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%T: MarshalVT gives %x, the library %x", lib, got, want)
			}
		}
	})
}

// discardUnknown drops the unknown fields of m and of the messages in it.
func discardUnknown(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.IsList():
			for i := range v.List().Len() {
				discardUnknown(v.List().Get(i).Message())
			}
		default:
			discardUnknown(v.Message())
		}
		return true
	})
	if m.GetUnknown() != nil {
		m.SetUnknown(nil)
	}
}
