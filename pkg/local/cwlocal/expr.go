package cwlocal

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// grid is the periods a query covers: n periods of length period from start.
type grid struct {
	start  time.Time
	period time.Duration
	n      int
}

func (g grid) at(i int) time.Time { return g.start.Add(time.Duration(i) * g.period) }

// timeseries is one result: a value, or none, per period of its grid.
type timeseries struct {
	grid grid
	vals []float64
	ok   []bool
}

func newSeries(g grid) *timeseries {
	return &timeseries{grid: g, vals: make([]float64, g.n), ok: make([]bool, g.n)}
}

func (s *timeseries) set(i int, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// CloudWatch has no non-finite datapoints: a division by zero leaves a gap.
		return
	}
	s.vals[i], s.ok[i] = v, true
}

// value is what an expression evaluates to: a scalar or a time series.
type value struct {
	series *timeseries // nil for a scalar
	scalar float64
}

// The metric math the stand-in evaluates is the part of CloudWatch's language that
// RepoTrackr uses: numbers, query ids, + - * / ^ with the usual precedence, unary minus,
// parentheses, and FILL(series, number). Arithmetic between two series keeps the periods
// where both have a value, as CloudWatch does; FILL gives every period a value. Anything
// else is refused with a clear message instead of a made-up answer.

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokNum
	tokIdent
	tokOp // + - * / ^ ( ) ,
)

type token struct {
	kind tokenKind
	text string
	num  float64
	pos  int
}

func tokenize(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := rune(src[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case strings.ContainsRune("+-*/^(),", c):
			toks = append(toks, token{kind: tokOp, text: string(c), pos: i})
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
				(j > i && (src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E'))) {
				j++
			}
			f, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q at %d", src[i:j], i)
			}
			toks = append(toks, token{kind: tokNum, num: f, text: src[i:j], pos: i})
			i = j
		case c == '_' || unicode.IsLetter(c):
			j := i
			for j < len(src) && (src[j] == '_' || unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j]))) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: src[i:j], pos: i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(src)}), nil
}

// node is a parsed expression.
type node any

type (
	numNode struct{ v float64 }
	refNode struct{ id string }
	negNode struct{ x node }
	binNode struct {
		op   byte
		l, r node
	}
	callNode struct {
		fn   string
		args []node
	}
)

type parser struct {
	toks []token
	i    int
}

func parseExpression(src string) (node, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.sum()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %q at %d", t.text, t.pos)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tokOp && t.text == s
}

func (p *parser) sum() (node, error) { return p.binary(p.product, "+", "-") }

func (p *parser) product() (node, error) { return p.binary(p.unary, "*", "/") }

// binary parses a left-associative chain of operands joined by any of ops.
func (p *parser) binary(operand func() (node, error), ops ...string) (node, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for slices.ContainsFunc(ops, p.isOp) {
		op := p.next().text[0]
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = binNode{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	if p.isOp("-") {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return negNode{x: x}, nil
	}
	return p.power()
}

func (p *parser) power() (node, error) {
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	if p.isOp("^") {
		p.next()
		exp, err := p.unary() // right-associative
		if err != nil {
			return nil, err
		}
		return binNode{op: '^', l: base, r: exp}, nil
	}
	return base, nil
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch {
	case t.kind == tokNum:
		return numNode{v: t.num}, nil
	case t.kind == tokOp && t.text == "(":
		n, err := p.sum()
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") {
			return nil, fmt.Errorf("missing ) at %d", p.peek().pos)
		}
		p.next()
		return n, nil
	case t.kind == tokIdent && p.isOp("("):
		p.next()
		var args []node
		for !p.isOp(")") {
			a, err := p.sum()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.isOp(",") {
				p.next()
				continue
			}
			if !p.isOp(")") {
				return nil, fmt.Errorf("expected , or ) at %d", p.peek().pos)
			}
		}
		p.next()
		return callNode{fn: strings.ToUpper(t.text), args: args}, nil
	case t.kind == tokIdent:
		return refNode{id: t.text}, nil
	case t.kind == tokEOF:
		return nil, fmt.Errorf("unexpected end of expression")
	}
	return nil, fmt.Errorf("unexpected %q at %d", t.text, t.pos)
}

// evaluator resolves query ids to their series, evaluating expressions on demand and
// refusing cycles.
type evaluator struct {
	resolve func(id string) (*timeseries, error)
}

func (e *evaluator) eval(n node) (value, error) {
	switch n := n.(type) {
	case numNode:
		return value{scalar: n.v}, nil
	case refNode:
		s, err := e.resolve(n.id)
		if err != nil {
			return value{}, err
		}
		return value{series: s}, nil
	case negNode:
		x, err := e.eval(n.x)
		if err != nil {
			return value{}, err
		}
		return apply('*', value{scalar: -1}, x)
	case binNode:
		l, err := e.eval(n.l)
		if err != nil {
			return value{}, err
		}
		r, err := e.eval(n.r)
		if err != nil {
			return value{}, err
		}
		return apply(n.op, l, r)
	case callNode:
		return e.call(n)
	}
	return value{}, fmt.Errorf("unknown expression node %T", n)
}

func (e *evaluator) call(n callNode) (value, error) {
	switch n.fn {
	case "FILL":
		if len(n.args) != 2 {
			return value{}, fmt.Errorf("FILL takes a time series and a number")
		}
		x, err := e.eval(n.args[0])
		if err != nil {
			return value{}, err
		}
		fill, err := e.eval(n.args[1])
		if err != nil {
			return value{}, err
		}
		if x.series == nil || fill.series != nil {
			return value{}, fmt.Errorf("FILL takes a time series and a number")
		}
		out := newSeries(x.series.grid)
		for i := range out.vals {
			if x.series.ok[i] {
				out.set(i, x.series.vals[i])
			} else {
				out.set(i, fill.scalar)
			}
		}
		return value{series: out}, nil
	}
	return value{}, fmt.Errorf("function %s is not supported by the local CloudWatch stand-in", n.fn)
}

func arith(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	case '/':
		if b == 0 {
			return math.NaN()
		}
		return a / b
	case '^':
		return math.Pow(a, b)
	}
	return math.NaN()
}

func apply(op byte, l, r value) (value, error) {
	switch {
	case l.series == nil && r.series == nil:
		return value{scalar: arith(op, l.scalar, r.scalar)}, nil
	case l.series != nil && r.series != nil:
		if l.series.grid != r.series.grid {
			return value{}, fmt.Errorf("time series with different periods cannot be combined")
		}
		out := newSeries(l.series.grid)
		for i := range out.vals {
			if l.series.ok[i] && r.series.ok[i] {
				out.set(i, arith(op, l.series.vals[i], r.series.vals[i]))
			}
		}
		return value{series: out}, nil
	case l.series != nil:
		out := newSeries(l.series.grid)
		for i := range out.vals {
			if l.series.ok[i] {
				out.set(i, arith(op, l.series.vals[i], r.scalar))
			}
		}
		return value{series: out}, nil
	default:
		out := newSeries(r.series.grid)
		for i := range out.vals {
			if r.series.ok[i] {
				out.set(i, arith(op, l.scalar, r.series.vals[i]))
			}
		}
		return value{series: out}, nil
	}
}
