package flow

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
)

// Endpoint names a message receiver: a process and a token within it.
type Endpoint struct {
	Addr  Address
	Token uint64
}

func (ep Endpoint) String() string { return fmt.Sprintf("%s#%x", ep.Addr, ep.Token) }

// Well-known tokens are below WellKnownLimit; dynamic tokens (reply
// endpoints, per-instance interfaces) are drawn at random above it.
const (
	WellKnownLimit uint64 = 1 << 32
	// TokenPing answers the failure monitor's pings in every process.
	TokenPing uint64 = 1
)

// Transport carries one process's messages. Implementations: the TCP
// transport (real) and the simulated network (db/sim).
type Transport interface {
	// Send hands payload for endpoint to to the network; replyTo, if not
	// zero, names the sender's endpoint for a reply. It never blocks and
	// never reports errors: a message to an unreachable or dead peer is
	// lost, and the failure monitor notices the peer.
	Send(to Endpoint, replyTo uint64, payload []byte)
	// Close detaches the process from the network.
	Close()
}

// Codec turns messages of one type into bytes and back. Unmarshal must
// reject malformed input with an error, never panic.
type Codec[T any] struct {
	Marshal   func(T) ([]byte, error)
	Unmarshal func([]byte) (T, error)
}

// ProtoCodec returns the codec of a generated Protocol Buffers message type
// (a pointer type such as *wire.EchoRequest). Marshalling is deterministic.
// Types with vtprotobuf's generated marshalling (db/wire's transaction
// messages) use it: a few times cheaper than the reflection-driven
// library, and they have no maps, whose order would differ between runs.
func ProtoCodec[T proto.Message]() Codec[T] {
	var zero T
	mt := zero.ProtoReflect().Type()
	if _, ok := any(zero).(vtMessage); ok {
		return Codec[T]{
			Marshal: func(v T) ([]byte, error) { return any(v).(vtMessage).MarshalVT() },
			Unmarshal: func(b []byte) (T, error) {
				m := mt.New().Interface().(T)
				err := any(m).(vtMessage).UnmarshalVT(b)
				return m, err
			},
		}
	}
	opts := proto.MarshalOptions{Deterministic: true}
	return Codec[T]{
		Marshal: func(v T) ([]byte, error) { return opts.Marshal(v) },
		Unmarshal: func(b []byte) (T, error) {
			m := mt.New().Interface().(T)
			if err := proto.Unmarshal(b, m); err != nil {
				return m, err
			}
			return m, nil
		},
	}
}

// vtMessage is a message with vtprotobuf's generated marshalling.
type vtMessage interface {
	MarshalVT() ([]byte, error)
	UnmarshalVT([]byte) error
}

// handler receives a message delivered to a token.
type handler func(from Address, replyTo uint64, payload []byte)

type netState struct {
	env      *Env
	tr       Transport
	handlers map[uint64]handler
	peers    map[Address]*peer
	closed   bool
}

func newNetState(e *Env, tr Transport) *netState {
	n := &netState{env: e, tr: tr, handlers: map[uint64]handler{}, peers: map[Address]*peer{}}
	n.handlers[TokenPing] = func(from Address, replyTo uint64, _ []byte) {
		if replyTo != 0 {
			n.reply(from, replyTo, nil, nil)
		}
	}
	return n
}

func (n *netState) close() {
	n.closed = true
	n.handlers = map[uint64]handler{}
	if n.tr != nil {
		n.tr.Close()
	}
}

func (n *netState) newToken() uint64 {
	for {
		t := n.env.rng.Uint64() | WellKnownLimit
		if _, used := n.handlers[t]; !used {
			return t
		}
	}
}

func (n *netState) send(to Endpoint, replyTo uint64, payload []byte) {
	if n.closed || n.tr == nil {
		return
	}
	n.tr.Send(to, replyTo, payload)
}

// Deliver hands an incoming message to the endpoint it names. Transports
// call it with the loop's baton. A message for an unknown endpoint that
// expects a reply is answered with endpoint_not_found.
func (e *Env) Deliver(from Address, token, replyTo uint64, payload []byte) {
	n := e.net
	if n.closed {
		return
	}
	if p := n.peers[from]; p != nil {
		p.heard(e)
	}
	h, ok := n.handlers[token]
	if !ok {
		if replyTo != 0 {
			n.reply(from, replyTo, nil, ErrEndpointNotFound)
		}
		return
	}
	h(from, replyTo, payload)
}

// Reply payloads start with a status byte: replyOK then the message, or
// replyErr then the error's uvarint code and its name.
const (
	replyOK  byte = 0
	replyErr byte = 1
)

func (n *netState) reply(to Address, token uint64, body []byte, err error) {
	var payload []byte
	if err != nil {
		fe := AsError(err)
		payload = append([]byte{replyErr}, binary.AppendUvarint(nil, uint64(fe.Code))...)
		payload = append(payload, fe.Name...)
	} else {
		payload = append(make([]byte, 0, len(body)+1), replyOK)
		payload = append(payload, body...)
	}
	n.send(Endpoint{Addr: to, Token: token}, 0, payload)
}

func decodeReply(payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("flow: empty reply: %w", ErrInternal)
	}
	switch payload[0] {
	case replyOK:
		return payload[1:], nil
	case replyErr:
		code, k := binary.Uvarint(payload[1:])
		if k <= 0 || code > 1<<20 {
			return nil, fmt.Errorf("flow: malformed error reply: %w", ErrInternal)
		}
		return nil, &Error{Code: int(code), Name: string(payload[1+k:])}
	default:
		return nil, fmt.Errorf("flow: reply status %d unknown: %w", payload[0], ErrInternal)
	}
}

// request sends body to to and returns a future for the decoded reply.
// Tracked requests fail with request_maybe_delivered when the failure
// monitor declares the peer failed; untracked ones (pings) expire instead.
func request[Rep any](e *Env, to Endpoint, body []byte, dec func([]byte) (Rep, error), tracked bool, expire time.Duration) Future[Rep] {
	n := e.net
	p := NewPromise[Rep]()
	if n.closed {
		p.Fail(ErrOperationCancelled)
		return p.Future()
	}
	token := n.newToken()
	var pr *peer
	if tracked {
		pr = n.peer(to.Addr)
		if pr.failed {
			p.Fail(ErrRequestMaybeDelivered)
			return p.Future()
		}
		pr.outstanding[token] = func(err error) {
			delete(n.handlers, token)
			p.Fail(err)
		}
	}
	n.handlers[token] = func(_ Address, _ uint64, payload []byte) {
		delete(n.handlers, token)
		if pr != nil {
			delete(pr.outstanding, token)
		}
		body, err := decodeReply(payload)
		if err != nil {
			p.Fail(err)
			return
		}
		v, err := dec(body)
		if err != nil {
			p.Fail(fmt.Errorf("flow: decoding reply from %s: %w", to, err))
			return
		}
		p.Send(v)
	}
	if expire > 0 {
		e.loop.After(expire, func() {
			if _, live := n.handlers[token]; live {
				delete(n.handlers, token)
				p.Fail(ErrTimedOut)
			}
		})
	}
	n.send(to, token, body)
	return p.Future()
}

// RequestStream is the client side of a request/reply interface at one
// endpoint. It is a small value, safe to copy and to publish.
type RequestStream[Req, Rep any] struct {
	ep  Endpoint
	req Codec[Req]
	rep Codec[Rep]
}

// NewRequestStream returns the client side of the interface at ep.
func NewRequestStream[Req, Rep any](ep Endpoint, req Codec[Req], rep Codec[Rep]) RequestStream[Req, Rep] {
	return RequestStream[Req, Rep]{ep: ep, req: req, rep: rep}
}

// Endpoint returns where requests go.
func (s RequestStream[Req, Rep]) Endpoint() Endpoint { return s.ep }

// GetReply sends req and returns a future for the reply. The future fails
// with the remote error, or with request_maybe_delivered if the peer is or
// becomes failed before replying. It does not retry: a retry is the caller's
// decision because it may run the request twice.
func (s RequestStream[Req, Rep]) GetReply(e *Env, req Req) Future[Rep] {
	body, err := s.req.Marshal(req)
	if err != nil {
		return Failed[Rep](fmt.Errorf("flow: encoding request for %s: %w", s.ep, err))
	}
	return request(e, s.ep, body, s.rep.Unmarshal, true, 0)
}

// Request is one received request and the means to answer it.
type Request[Req, Rep any] struct {
	Msg  Req
	From Address

	env     *Env
	replyTo uint64
	codec   Codec[Rep]
	done    bool
}

// Reply answers the request. Only the first Reply or Fail is sent.
func (r *Request[Req, Rep]) Reply(v Rep) {
	if r.done || r.replyTo == 0 {
		return
	}
	r.done = true
	body, err := r.codec.Marshal(v)
	r.env.net.reply(r.From, r.replyTo, body, err)
}

// Fail answers the request with an error; uncoded errors travel as
// internal_error.
func (r *Request[Req, Rep]) Fail(err error) {
	if r.done || r.replyTo == 0 {
		return
	}
	r.done = true
	r.env.net.reply(r.From, r.replyTo, nil, err)
}

// Listener is the server side of a request/reply interface.
type Listener[Req, Rep any] struct {
	env    *Env
	stream RequestStream[Req, Rep]
	queue  PromiseStream[*Request[Req, Rep]]
}

// Listen serves the interface at token (a well-known token, or 0 for a
// fresh dynamic one) and queues decoded requests. A request that fails to
// decode is answered with an error and traced; it never reaches the queue.
func Listen[Req, Rep any](e *Env, token uint64, req Codec[Req], rep Codec[Rep]) *Listener[Req, Rep] {
	n := e.net
	if token == 0 {
		token = n.newToken()
	}
	l := &Listener[Req, Rep]{
		env:    e,
		stream: NewRequestStream(Endpoint{Addr: e.addr, Token: token}, req, rep),
		queue:  NewPromiseStream[*Request[Req, Rep]](),
	}
	n.handlers[token] = func(from Address, replyTo uint64, payload []byte) {
		msg, err := req.Unmarshal(payload)
		if err != nil {
			e.Trace(SevWarn, "MalformedRequest", D("From", from), D("Token", token), D("Error", err.Error()))
			if replyTo != 0 {
				n.reply(from, replyTo, nil, ErrMalformedRequest)
			}
			return
		}
		l.queue.Send(&Request[Req, Rep]{Msg: msg, From: from, env: e, replyTo: replyTo, codec: rep})
	}
	return l
}

// ErrMalformedRequest answers a request whose payload did not decode.
var ErrMalformedRequest = &Error{1107, "malformed_request"}

// Stream returns the client side of this interface, to publish.
func (l *Listener[Req, Rep]) Stream() RequestStream[Req, Rep] { return l.stream }

// Requests returns the queue of received requests.
func (l *Listener[Req, Rep]) Requests() FutureStream[*Request[Req, Rep]] { return l.queue.Stream() }

// Close stops serving: later requests get endpoint_not_found and queued ones
// broken_promise.
func (l *Listener[Req, Rep]) Close() {
	delete(l.env.net.handlers, l.stream.ep.Token)
	q := l.queue.Stream()
	for {
		r, ok := q.TryNext()
		if !ok {
			break
		}
		r.Fail(ErrBrokenPromise)
	}
	l.queue.Close(ErrBrokenPromise)
}

// sortedTokens returns a map's keys in order, for deterministic iteration.
func sortedTokens[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
