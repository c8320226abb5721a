package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDocumentBytes bounds the documents Parse accepts. A status document
// of a thousand-process cluster is a few megabytes; anything near this
// bound is not a status document.
const MaxDocumentBytes = 64 << 20

// Parse decodes a status document. Unknown fields are ignored, as FDB's
// format promises only that fields keep their meaning. It fails on
// malformed JSON (with the line and column), on a document that is not an
// object or has no client section, and on values of the wrong type.
func Parse(data []byte) (*Status, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("status document is %d bytes, more than the %d allowed", len(data), MaxDocumentBytes)
	}
	switch trimmed := bytes.TrimLeft(data, " \t\r\n"); {
	case len(trimmed) == 0:
		return nil, errors.New("status document is empty")
	case trimmed[0] != '{':
		return nil, errors.New("status document is not a JSON object")
	}
	// One pass: the client section is a pointer here only to tell a
	// missing section from an empty one.
	var doc struct {
		Cluster *Cluster `json:"cluster"`
		Client  *Client  `json:"client"`
	}
	if err := decodeOne(data, &doc); err != nil {
		return nil, describe(data, err)
	}
	if doc.Client == nil {
		return nil, errors.New("status document has no client section")
	}
	return &Status{Cluster: doc.Cluster, Client: *doc.Client}, nil
}

// decodeOne decodes exactly one JSON value and rejects trailing data.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("status document is empty")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("status document has data after its JSON object")
	}
	return nil
}

// describe adds the line and column of a decoding error.
func describe(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := position(data, syntax.Offset)
		return fmt.Errorf("status document: line %d, column %d: %w", line, col, err)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		return fmt.Errorf("status document: line %d, column %d: field %s: %w", line, col, typ.Field, err)
	}
	return fmt.Errorf("status document: %w", err)
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}
