package envelope

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// scanner is the strict JSON reader the decoder pulls tokens and values from: the
// subset of jsontext.Decoder's API the decoder uses (PeekKind, ReadToken, ReadValue),
// over a payload held in memory, accepting exactly what jsontext's defaults accept
// (valid UTF-8, escaped surrogates only in valid pairs, no duplicate object names, at
// most 10,000 nested containers, nothing but whitespace after the value).
//
// Why by hand: issue 13 asks for ingest at or below the floor (HMAC-SHA256 plus one
// encoding/json.Valid pass) from 100 kB. jsontext, the best strict reader measured
// (../ingest/README.md, "Candidates"), validates at about the speed of json.Valid on
// the 2-core benchmark machine, so a handler built on it sat at 0.93–1.01× the floor
// from run to run, and at 1.2× at 8 kB, where its duplicate-name check (a map and a
// string per name past 64 names) weighed most. No library is both strict and faster;
// the lenient ones (fastjson, goccy, sonic) accept duplicate names, and goccy and sonic
// invalid UTF-8 too. This scanner does one pass that validates as it skips, with the
// duplicate-name check (nameSet) inside the same pass. FuzzScanDifferential holds its
// accept/refuse answer to jsontext's on arbitrary input, and FuzzBuildDifferential the
// envelope built on it to encoding/json's.
type scanner struct {
	b     []byte
	pos   int
	open  []scanFrame // the containers opened with ReadToken
	names *nameSet
	err   error       // sticky: the first error ends the scan
	top   uint8       // the top level's state: scanValue, then scanAfterValue
	name  []byte      // scratch for escaped member names
	skip  []scanFrame // scratch for value: the containers inside the value it reads
	// peeked is the kind PeekKind found at pos (0: not peeked since the last read): the
	// decoder peeks at most tokens more than once before it reads them.
	peeked jsontext.Kind
}

// scanFrame is one open container: an object or an array, and what comes next in it.
type scanFrame struct {
	object bool
	state  uint8
	frame  nameFrame // objects read inside ReadValue only: their names
}

// What a container (or the top level) expects next.
const (
	scanFirst      uint8 = iota // just opened: a member (or element), or the end
	scanName                    // after a comma in an object: a member name
	scanColon                   // after a member name
	scanValue                   // a value
	scanAfterValue              // a comma, or the end
)

// maxDepth is jsontext's limit on nested containers.
const maxDepth = 10000

// Scan errors. Their texts never reach a caller (ingest answers with a fixed reason).
var (
	errSyntax   = errors.New("invalid JSON syntax")
	errBadUTF8  = errors.New("invalid UTF-8 in string")
	errEscape   = errors.New("invalid escape sequence in string")
	errMaxDepth = errors.New("exceeded max depth")
)

func (s *scanner) reset(b []byte, names *nameSet) {
	s.b, s.pos, s.open, s.names, s.err, s.top, s.peeked = b, 0, s.open[:0], names, nil, scanValue, 0
}

func (s *scanner) fail(err error) jsontext.Kind {
	if s.err == nil {
		s.err = err
	}
	return 0
}

func (s *scanner) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// state is what the innermost open container (or the top level) expects.
func (s *scanner) state() *uint8 {
	if len(s.open) == 0 {
		return &s.top
	}
	return &s.open[len(s.open)-1].state
}

// PeekKind returns the kind of the next token without reading it: '{', '[', '"', '0'
// (a number), 't', 'f', 'n', '}', ']', or 0 at an error or the end (which the next
// read returns). Separators before the token are consumed.
func (s *scanner) PeekKind() jsontext.Kind {
	if s.peeked != 0 {
		return s.peeked
	}
	s.peeked = s.peek()
	return s.peeked
}

func (s *scanner) peek() jsontext.Kind {
	if s.err != nil {
		return 0
	}
	s.ws()
	st := s.state()
	inObject := len(s.open) > 0 && s.open[len(s.open)-1].object
	switch *st {
	case scanColon:
		if s.pos >= len(s.b) {
			return s.fail(io.ErrUnexpectedEOF)
		}
		if s.b[s.pos] != ':' {
			return s.fail(errSyntax)
		}
		s.pos++
		s.ws()
		*st = scanValue
	case scanAfterValue:
		if len(s.open) == 0 {
			return 0 // the value is complete: only the end may follow
		}
		if s.pos >= len(s.b) {
			return s.fail(io.ErrUnexpectedEOF)
		}
		switch c := s.b[s.pos]; {
		case c == ',':
			s.pos++
			s.ws()
			*st = scanValue
			if inObject {
				*st = scanName
			}
		case c == '}' && inObject, c == ']' && !inObject:
			return jsontext.Kind(c)
		default:
			return s.fail(errSyntax)
		}
	}
	if s.pos >= len(s.b) {
		return s.fail(io.ErrUnexpectedEOF)
	}
	c := s.b[s.pos]
	switch {
	case *st == scanFirst && (c == '}' && inObject || c == ']' && !inObject):
		return jsontext.Kind(c)
	case inObject && (*st == scanFirst || *st == scanName):
		if c != '"' {
			return s.fail(errSyntax)
		}
		return '"'
	}
	switch c {
	case '{', '[', '"', 't', 'f', 'n':
		return jsontext.Kind(c)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return '0'
	}
	return s.fail(errSyntax)
}

// ReadToken reads the next token when it opens or closes a container, and returns
// io.EOF when only whitespace follows the top-level value. The decoder reads every
// other token with ReadValue.
func (s *scanner) ReadToken() (jsontext.Kind, error) {
	k := s.PeekKind()
	s.peeked = 0
	if s.err != nil {
		return 0, s.err
	}
	switch k {
	case '{', '[':
		if len(s.open) >= maxDepth {
			s.fail(errMaxDepth)
			return 0, s.err
		}
		*s.state() = scanAfterValue // once this container closes
		s.open = append(s.open, scanFrame{object: k == '{', state: scanFirst})
		s.pos++
		return k, nil
	case '}', ']':
		s.open = s.open[:len(s.open)-1]
		s.pos++
		return k, nil
	case 0:
		if s.pos == len(s.b) && len(s.open) == 0 && s.top == scanAfterValue {
			return 0, io.EOF
		}
		s.fail(errSyntax) // after the top-level value: data that is not whitespace
		return 0, s.err
	}
	if _, err := s.ReadValue(); err != nil {
		return 0, err
	}
	return k, nil
}

// ReadValue reads the next value whole, checking all of it, and returns its bytes. In
// an object, where a member name is next, it reads the name.
func (s *scanner) ReadValue() (jsontext.Value, error) {
	k := s.PeekKind()
	s.peeked = 0
	if s.err != nil {
		return nil, s.err
	}
	st := s.state()
	start := s.pos
	switch k {
	case '}', ']', 0:
		s.fail(errSyntax)
		return nil, s.err
	}
	naming := len(s.open) > 0 && s.open[len(s.open)-1].object && (*st == scanFirst || *st == scanName)
	var err error
	if naming {
		err = s.str()
	} else {
		err = s.value()
	}
	if err != nil {
		s.fail(err)
		return nil, s.err
	}
	if naming {
		*st = scanColon
	} else {
		*st = scanAfterValue
	}
	return s.b[start:s.pos], nil
}

// value reads one value at s.pos (past any whitespace), nested containers and all,
// without recursion.
func (s *scanner) value() error {
	stack := s.skip[:0]
	defer func() { s.skip = stack[:0] }()
	for {
		// A value starts here.
		if s.pos >= len(s.b) {
			return io.ErrUnexpectedEOF
		}
		switch c := s.b[s.pos]; c {
		case '{', '[':
			if len(s.open)+len(stack) >= maxDepth {
				return errMaxDepth
			}
			s.pos++
			f := scanFrame{object: c == '{', state: scanFirst}
			if f.object {
				f.frame = s.names.open()
			}
			stack = append(stack, f)
		case '"':
			if err := s.str(); err != nil {
				return err
			}
		case 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			if err := s.number(); err != nil {
				return err
			}
		}
		// After a value, or inside a container just opened: close what ends here, and
		// find where the next value starts.
		for {
			if len(stack) == 0 {
				return nil
			}
			f := &stack[len(stack)-1]
			s.ws()
			if s.pos >= len(s.b) {
				return io.ErrUnexpectedEOF
			}
			c := s.b[s.pos]
			end := byte(']')
			if f.object {
				end = '}'
			}
			if c == end {
				s.pos++
				if f.object {
					s.names.close(&f.frame)
				}
				stack = stack[:len(stack)-1]
				continue // the container is a value: what follows it?
			}
			switch f.state {
			case scanAfterValue:
				if c != ',' {
					return errSyntax
				}
				s.pos++
				s.ws()
			case scanFirst:
			default:
				return errSyntax
			}
			f.state = scanAfterValue
			if f.object {
				if err := s.member(&f.frame); err != nil {
					return err
				}
			}
			break
		}
	}
}

// member reads an object member's name (checking that the object has no other member
// of that name) and the colon after it, up to its value.
func (s *scanner) member(f *nameFrame) error {
	if s.pos >= len(s.b) {
		return io.ErrUnexpectedEOF
	}
	if s.b[s.pos] != '"' {
		return errSyntax
	}
	start := s.pos
	if err := s.str(); err != nil {
		return err
	}
	if err := s.insertName(f, s.b[start:s.pos]); err != nil {
		return err
	}
	s.ws()
	if s.pos >= len(s.b) {
		return io.ErrUnexpectedEOF
	}
	if s.b[s.pos] != ':' {
		return errSyntax
	}
	s.pos++
	s.ws()
	return nil
}

// insertName adds a member name (quoted, as read) to the object's names.
func (s *scanner) insertName(f *nameFrame, quoted []byte) error {
	n, err := s.nameOf(quoted)
	if err != nil {
		return err
	}
	if !s.names.insert(f, n) {
		return errDuplicateName
	}
	return nil
}

// nameOf returns a member name (quoted, as read) unescaped, so that "a" and "\u0061"
// are the same name. The result is valid until the next call.
func (s *scanner) nameOf(quoted []byte) ([]byte, error) {
	n := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(n, '\\') < 0 {
		return n, nil
	}
	var err error
	s.name, err = jsontext.AppendUnquote(s.name[:0], quoted)
	return s.name, err
}

// plain marks the bytes a string holds as they are: printable ASCII but '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string at s.pos: valid UTF-8, no control characters, valid escapes, and
// an escaped surrogate only as the first half of a valid pair.
func (s *scanner) str() error {
	b, i := s.b, s.pos+1
	for {
		for i+8 <= len(b) && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return io.ErrUnexpectedEOF
		}
		switch c := b[i]; {
		case c == '"':
			s.pos = i + 1
			return nil
		case c == '\\':
			n, err := escape(b[i:])
			if err != nil {
				return err
			}
			i += n
		case c < ' ':
			return errSyntax
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				if !utf8.FullRune(b[i:]) {
					return io.ErrUnexpectedEOF
				}
				return errBadUTF8
			}
			i += n
		}
	}
}

// special8 reports whether any of the 8 bytes in v may be other than plain: a '"', a
// '\\', a control character or a byte of a multi-byte character (SWAR: each test sets a
// byte's top bit; a borrow may flag the bytes after a true one, never a byte before it,
// so a false answer is exact). Most strings of a payload (messages, URLs, names) are long
// runs of plain ASCII, which this passes 8 bytes at a time.
func special8(v uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	q := v ^ (lsb * '"')
	bs := v ^ (lsb * '\\')
	return ((q-lsb)&^q|(bs-lsb)&^bs|(v-lsb*' ')|v)&msb != 0
}

// escape checks the escape sequence at the start of b and returns its length (a
// surrogate pair is one sequence of 12 bytes).
func escape(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, io.ErrUnexpectedEOF
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
	default:
		return 0, errEscape
	}
	r1, err := hex4(b[2:])
	if err != nil {
		return 0, err
	}
	if !utf16.IsSurrogate(r1) {
		return 6, nil
	}
	if len(b) < 8 {
		return 0, io.ErrUnexpectedEOF
	}
	if b[6] != '\\' || b[7] != 'u' {
		return 0, errEscape
	}
	r2, err := hex4(b[8:])
	if err != nil {
		return 0, err
	}
	if utf16.DecodeRune(r1, r2) == utf8.RuneError {
		return 0, errEscape
	}
	return 12, nil
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, error) {
	var d [2]byte
	if len(b) < 4 {
		return 0, errEscape // or cut short: refused either way
	}
	if _, err := hex.Decode(d[:], b[:4]); err != nil {
		return 0, errEscape
	}
	return rune(d[0])<<8 | rune(d[1]), nil
}

func (s *scanner) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if s.pos+i >= len(s.b) {
			return io.ErrUnexpectedEOF
		}
		if s.b[s.pos+i] != lit[i] {
			return errSyntax
		}
	}
	s.pos += len(lit)
	return nil
}

// number reads a number as RFC 8259 writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	b, i := s.b, s.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return io.ErrUnexpectedEOF
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return errSyntax
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			if j >= len(b) {
				return io.ErrUnexpectedEOF
			}
			return errSyntax
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			if j >= len(b) {
				return io.ErrUnexpectedEOF
			}
			return errSyntax
		}
		i = j
	}
	s.pos = i
	return nil
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
