package samtemplate

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// This file derives, from the Go source, the AWS operations each function's code can
// reach, so that the template's policies can be compared with them. No library answers
// "which SDK operations does this program call, on which table": the call graph is built
// here from go/types (direct calls and function values, interface calls resolved to the
// module's types that have the methods), and the operations are read at their call sites:
//   - an SDK call: any method whose second parameter is *<service>.<Op>Input of
//     github.com/aws/aws-sdk-go-v2/service/<service> (the clients and our small
//     interfaces over them) is <service>:<Op>;
//   - guregu/dynamo: Table.Put, Update, Delete and Scan are PutItem, UpdateItem,
//     DeleteItem and Scan; Table.Get is a Query (on the index its chain names, if any), or
//     GetItem when the same expression ends in One() with no index, limit, filter or
//     range; Batch(...).Write() is BatchWriteItem and Batch(...).Get() BatchGetItem (on
//     the tables its From and FromRange name, too);
//     AllWithLastEvaluatedKey and LastEvaluatedKey may call DescribeTable on the tables
//     the function queries.
// Each resource is followed to the environment variable the function reads it from, and
// through the template to its logical id: a table from the name its dynamo.Table was made
// with (through local variables and parameters of type dynamo.Table), a secret from
// SecretId, a queue from QueueUrl. A name is followed through aws.String, constants and
// "+ suffix", local variables, ranges over composite literals, fields set by struct
// literals (store.TablesFrom's lookup(EnvEventsTable) and the like: any func(string)
// string called with a name reads the environment), and parameters, resolved at every
// reached call site. CloudWatch's GetMetricData has no resource and is compared by
// action.
//
// What it cannot tell (a table or secret named in a form it does not follow) is reported
// as a problem, not skipped, so that a new call cannot slip past the comparison.

const (
	modulePath = "github.com/repotrackr/github-integration"
	dynamoPkg  = "github.com/guregu/dynamo/v2"
	sdkService = "github.com/aws/aws-sdk-go-v2/service/"
)

// Use is one AWS operation a function's code can call: Action as IAM names it
// ("dynamodb:GetItem") and Resource the template's logical id ("EventsTable",
// "EventsTable/index/by_time", "EventsTable/index/*" for an index chosen at run time),
// empty where the service has no resource (CloudWatch's GetMetricData).
type Use struct {
	Action, Resource string
	// Where is a source position of the call, for messages.
	Where string
}

// tableOp is a DynamoDB table operation whose table is not resolved yet: the expression
// of the table's name (resolved by res), or the parameter the table comes in through.
type tableOp struct {
	action string
	index  string // "" base table, "*" an index named at run time, else the index
	name   ast.Expr
	res    *resolver
	param  int // >= 0: the dynamo.Table is the function's parameter at this index
	where  string
}

type callSite struct {
	callee string
	args   []ast.Expr
	recv   ast.Expr // the receiver of a method call
	res    *resolver
}

// resourceFields names, per service, the input field that names the resource; a
// service not listed (CloudWatch's GetMetricData has no resource) is compared by action.
var resourceFields = map[string]string{"secretsmanager": "SecretId", "sqs": "QueueUrl"}

// sdkCall is an SDK call site; for a tracked service, resource is the expression of its
// input's resource field, resolved (by res) once every package is indexed.
type sdkCall struct {
	Use
	tracked  bool
	resource ast.Expr
	res      *resolver
}

// sym is a string value as far as the source tells it: a constant, the value of an
// environment variable (a resource handle), or a parameter of the enclosing function
// (plus a constant suffix, and whether the function looks it up in the environment).
type sym struct {
	kind   symKind
	s      string
	param  int
	suffix string
	getenv bool
}

type symKind int

const (
	symStr symKind = iota
	symEnv
	symParam
	// symSecretRecv: the resource is the ARN of the config.SecretRef the function is a
	// method of; symSecretParam: of the SecretRef that comes in as parameter param.
	symSecretRecv
	symSecretParam
)

// configPkg is where config.SecretRef and config.Env live: a SecretRef made by
// env.Secret(NAME) reads its secret from the ARN in NAME_ARN.
const configPkg = modulePath + "/pkg/config"

type fieldVal struct {
	x   ast.Expr
	res *resolver
	pkg string
}

type funcNode struct {
	refs       map[string]bool
	ifaceCalls [][]string // each: the interface's method names, the called one first
	ops        []tableOp
	sdk        []sdkCall
	calls      []callSite
	pkg        string
}

// sdkIndex is the module's functions with their calls and AWS operations. Uses sets
// scope while it runs: it is not safe for concurrent use.
type sdkIndex struct {
	fset    *token.FileSet
	funcs   map[string]*funcNode
	imports map[string][]string            // module package -> module packages it imports
	methods map[string]map[string][]string // package -> type -> method names
	// fields holds the values struct literals give each field ("pkg.Type.Field").
	fields map[string][]fieldVal
	// scope is the packages of the function being analysed: only their literals count.
	scope map[string]bool
}

// loadSDKIndex type-checks the module's packages under dir (dependencies from export
// data) and indexes their functions.
func loadSDKIndex(dir string) (*sdkIndex, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
			packages.NeedTypesInfo | packages.NeedImports,
		Dir: dir,
	}
	pkgs, err := packages.Load(cfg, "./functions/...", "./pkg/...")
	if err != nil {
		return nil, fmt.Errorf("load packages: %w", err)
	}
	ix := &sdkIndex{
		funcs: map[string]*funcNode{}, imports: map[string][]string{},
		methods: map[string]map[string][]string{}, fields: map[string][]fieldVal{},
	}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			return nil, fmt.Errorf("package %s: %v", p.PkgPath, p.Errors[0])
		}
		ix.fset = p.Fset
		for path := range p.Imports {
			if strings.HasPrefix(path, modulePath+"/") {
				ix.imports[p.PkgPath] = append(ix.imports[p.PkgPath], path)
			}
		}
		ix.indexPackage(p)
	}
	return ix, nil
}

func funcKey(f *types.Func) string { return f.Origin().FullName() }

func (ix *sdkIndex) node(key, pkg string) *funcNode {
	n := ix.funcs[key]
	if n == nil {
		n = &funcNode{refs: map[string]bool{}, pkg: pkg}
		ix.funcs[key] = n
	}
	return n
}

func (ix *sdkIndex) indexPackage(p *packages.Package) {
	// Method names of the package's named types, for interface calls.
	ms := map[string][]string{}
	scope := p.Types.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok || types.IsInterface(named) {
			continue
		}
		mset := types.NewMethodSet(types.NewPointer(named))
		for i := 0; i < mset.Len(); i++ {
			ms[name] = append(ms[name], mset.At(i).Obj().Name())
		}
	}
	ix.methods[p.PkgPath] = ms

	initKey := p.PkgPath + ".init"
	for _, file := range p.Syntax {
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				key := initKey
				if d.Name.Name != "init" || d.Recv != nil {
					f, _ := p.TypesInfo.Defs[d.Name].(*types.Func)
					if f == nil {
						continue
					}
					key = funcKey(f)
				}
				if d.Body != nil {
					ix.walk(p, ix.node(key, p.PkgPath), d.Body, &resolver{info: p.TypesInfo, fn: d, ix: ix})
				}
			case *ast.GenDecl:
				// Package-level variables are initialized when the package is imported.
				ix.walk(p, ix.node(initKey, p.PkgPath), d, &resolver{info: p.TypesInfo, ix: ix})
			}
		}
	}
}

func (ix *sdkIndex) pos(p token.Pos) string {
	pos := ix.fset.Position(p)
	if i := strings.Index(pos.Filename, "/pkg/"); i >= 0 {
		pos.Filename = pos.Filename[i+1:]
	} else if i := strings.Index(pos.Filename, "/functions/"); i >= 0 {
		pos.Filename = pos.Filename[i+1:]
	}
	return fmt.Sprintf("%s:%d", pos.Filename, pos.Line)
}

func (ix *sdkIndex) walk(p *packages.Package, n *funcNode, root ast.Node, r *resolver) {
	info := p.TypesInfo
	describes := false
	var queried []ast.Expr
	ast.Inspect(root, func(x ast.Node) bool {
		switch e := x.(type) {
		case *ast.Ident:
			if f, ok := info.Uses[e].(*types.Func); ok && f.Pkg() != nil && strings.HasPrefix(f.Pkg().Path(), modulePath) {
				n.refs[funcKey(f)] = true
			}
		case *ast.CompositeLit:
			ix.structLiteral(p, r, e)
		case *ast.CallExpr:
			sel, ok := ast.Unparen(e.Fun).(*ast.SelectorExpr)
			if !ok {
				if id, ok := ast.Unparen(e.Fun).(*ast.Ident); ok {
					if f, ok := info.Uses[id].(*types.Func); ok && strings.HasPrefix(pkgPath(f), modulePath) {
						n.calls = append(n.calls, callSite{callee: funcKey(f), args: e.Args, res: r})
					}
				}
				return true
			}
			f, ok := info.Uses[sel.Sel].(*types.Func)
			if !ok {
				return true
			}
			if strings.HasPrefix(pkgPath(f), modulePath) {
				c := callSite{callee: funcKey(f), args: e.Args, res: r}
				if s := info.Selections[sel]; s != nil && s.Kind() == types.MethodVal {
					c.recv = sel.X
				}
				n.calls = append(n.calls, c)
			}
			if s := info.Selections[sel]; s != nil && types.IsInterface(s.Recv()) {
				if it, ok := s.Recv().Underlying().(*types.Interface); ok {
					names := []string{f.Name()}
					for i := 0; i < it.NumMethods(); i++ {
						if m := it.Method(i).Name(); m != f.Name() {
							names = append(names, m)
						}
					}
					n.ifaceCalls = append(n.ifaceCalls, names)
				}
			}
			if svc, op, ok := sdkOperation(f); ok {
				u := sdkCall{Use: Use{Action: svc + ":" + op, Where: ix.pos(e.Pos())}}
				switch field := resourceFields[svc]; {
				case svc == "dynamodb":
					// A direct client call names its table in TableName, when it has one.
					if x := inputField(e.Args, "TableName"); x != nil {
						u.tracked = true
						u.resource, u.res = x, r
					} else {
						u.Resource = "?"
					}
				case field != "":
					u.tracked = true
					u.resource, u.res = inputField(e.Args, field), r
				}
				n.sdk = append(n.sdk, u)
				return true
			}
			if pkgPath(f) != dynamoPkg {
				return true
			}
			switch f.Name() {
			case "AllWithLastEvaluatedKey", "LastEvaluatedKey":
				describes = true
			case "Put", "Update", "Delete", "Scan", "Get", "Batch":
				if recvName(f) != "Table" {
					return true
				}
				name, param := r.table(sel.X)
				op := tableOp{name: name, res: r, param: param, where: ix.pos(e.Pos())}
				chain := chainAfter(root, e)
				switch f.Name() {
				case "Put":
					op.action = "PutItem"
				case "Update":
					op.action = "UpdateItem"
				case "Delete":
					op.action = "DeleteItem"
				case "Scan":
					op.action = "Scan"
				case "Batch":
					op.action = "BatchWriteItem"
					if len(chain) > 0 && chain[0].name == "Get" {
						op.action = "BatchGetItem"
						// BatchGet.From and FromRange read other tables in the same request.
						for _, c := range chain {
							if (c.name == "From" || c.name == "FromRange") && len(c.call.Args) > 0 {
								other, otherParam := r.table(c.call.Args[0])
								n.ops = append(n.ops, tableOp{action: "BatchGetItem", name: other, res: r, param: otherParam, where: ix.pos(c.call.Pos())})
							}
						}
					}
				case "Get":
					op.action = "Query"
					getItem := len(chain) > 0 && chain[len(chain)-1].name == "One"
					for _, c := range chain {
						switch c.name {
						case "Index":
							getItem = false
							op.index = "*"
							if tv, ok := info.Types[c.call.Args[0]]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
								op.index = constant.StringVal(tv.Value)
							}
						case "Limit", "Filter", "Range", "SearchLimit":
							getItem = false
						}
					}
					if getItem {
						op.action = "GetItem"
					}
					queried = append(queried, name)
				}
				n.ops = append(n.ops, op)
			}
		}
		return true
	})
	if describes {
		for _, name := range queried {
			n.ops = append(n.ops, tableOp{action: "DescribeTable", name: name, res: r, param: -1, where: ix.pos(root.Pos())})
		}
	}
}

func pkgPath(f *types.Func) string {
	if f.Pkg() == nil {
		return ""
	}
	return f.Pkg().Path()
}

func recvName(f *types.Func) string {
	sig := f.Type().(*types.Signature)
	if sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if named, ok := types.Unalias(t).(*types.Named); ok {
		return named.Obj().Name()
	}
	return ""
}

// sdkOperation reports whether f is an AWS SDK operation: a method named Op whose second
// parameter is *<service>.<Op>Input.
func sdkOperation(f *types.Func) (service, op string, ok bool) {
	sig, _ := f.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil || sig.Params().Len() < 2 {
		return "", "", false
	}
	ptr, ok := sig.Params().At(1).Type().(*types.Pointer)
	if !ok {
		return "", "", false
	}
	named, ok := types.Unalias(ptr.Elem()).(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return "", "", false
	}
	path := named.Obj().Pkg().Path()
	if !strings.HasPrefix(path, sdkService) || named.Obj().Name() != f.Name()+"Input" {
		return "", "", false
	}
	return strings.TrimPrefix(path, sdkService), f.Name(), true
}

type chainCall struct {
	name string
	call *ast.CallExpr
}

// chainAfter returns the method calls made on call's result in the same expression, in
// order: for t.Get(..).Index(..).One(..), called with the Get call, [Index One].
func chainAfter(root ast.Node, call *ast.CallExpr) []chainCall {
	parents := map[ast.Node]ast.Node{}
	var stack []ast.Node
	ast.Inspect(root, func(x ast.Node) bool {
		if x == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		if len(stack) > 0 {
			parents[x] = stack[len(stack)-1]
		}
		stack = append(stack, x)
		return true
	})
	var out []chainCall
	cur := ast.Node(call)
	for {
		sel, ok := parents[cur].(*ast.SelectorExpr)
		if !ok || sel.X != cur {
			return out
		}
		next, ok := parents[sel].(*ast.CallExpr)
		if !ok || next.Fun != sel {
			return out
		}
		out = append(out, chainCall{name: sel.Sel.Name, call: next})
		cur = next
	}
}

// resolver follows values within one function declaration: which name a dynamo.Table
// was made with, and what a string can be (str).
type resolver struct {
	info *types.Info
	fn   *ast.FuncDecl
	ix   *sdkIndex
}

// table returns the expression of the name a dynamo.Table expression was made with
// (db.Table(name)), or the index of the parameter it comes in through (-1 when none).
func (r *resolver) table(x ast.Expr) (name ast.Expr, param int) {
	switch e := ast.Unparen(x).(type) {
	case *ast.CallExpr:
		if sel, ok := ast.Unparen(e.Fun).(*ast.SelectorExpr); ok && sel.Sel.Name == "Table" && len(e.Args) == 1 {
			return e.Args[0], -1
		}
	case *ast.Ident:
		obj := r.info.Uses[e]
		if obj == nil || r.fn == nil {
			break
		}
		if i := r.paramIndex(obj); i >= 0 {
			return nil, i
		}
		if rhs := r.assigned(obj); rhs != nil {
			return r.table(rhs)
		}
	}
	return nil, -1
}

func (r *resolver) paramIndex(obj types.Object) int {
	i := 0
	for _, field := range r.fn.Type.Params.List {
		for _, name := range field.Names {
			if r.info.Defs[name] == obj {
				return i
			}
			i++
		}
		if len(field.Names) == 0 {
			i++
		}
	}
	return -1
}

// assigned returns the expression a local variable is defined with (x := expr).
func (r *resolver) assigned(obj types.Object) ast.Expr {
	var out ast.Expr
	ast.Inspect(r.fn, func(x ast.Node) bool {
		if as, ok := x.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && (r.info.Defs[id] == obj) {
					out = as.Rhs[i]
				}
			}
		}
		return out == nil
	})
	return out
}

// rangedLiteral returns the composite literal a range statement's value variable ranges over.
func (r *resolver) rangedLiteral(obj types.Object) *ast.CompositeLit {
	var out *ast.CompositeLit
	ast.Inspect(r.fn, func(x ast.Node) bool {
		if rs, ok := x.(*ast.RangeStmt); ok {
			if id, ok := rs.Value.(*ast.Ident); ok && r.info.Defs[id] == obj {
				out, _ = ast.Unparen(rs.X).(*ast.CompositeLit)
			}
		}
		return out == nil
	})
	return out
}

// Uses returns what the function whose main package is mainPkg can call, with tables
// named through env (the function's environment: variable -> resource logical id). It
// also returns the calls whose table could not be told.
func (ix *sdkIndex) Uses(mainPkg string, env map[string]string) (uses []Use, unresolved []string) {
	closure := map[string]bool{}
	var visitPkg func(string)
	visitPkg = func(p string) {
		if closure[p] {
			return
		}
		closure[p] = true
		for _, q := range ix.imports[p] {
			visitPkg(q)
		}
	}
	visitPkg(mainPkg)
	ix.scope = closure
	defer func() { ix.scope = nil }()

	// Interface calls go to every method of that name on a type, in the function's
	// packages, that has all of the interface's methods.
	implementers := func(names []string) []string {
		var out []string
		for p := range closure {
			for typ, methods := range ix.methods[p] {
				have := map[string]bool{}
				for _, m := range methods {
					have[m] = true
				}
				all := true
				for _, m := range names {
					all = all && have[m]
				}
				if all {
					out = append(out, fmt.Sprintf("(%s.%s).%s", p, typ, names[0]), fmt.Sprintf("(*%s.%s).%s", p, typ, names[0]))
				}
			}
		}
		return out
	}

	var pending []pend
	reached := map[string]bool{}
	queue := []string{mainPkg + ".main"}
	for p := range closure {
		queue = append(queue, p+".init")
	}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if reached[k] {
			continue
		}
		n := ix.funcs[k]
		if n == nil || !closure[n.pkg] {
			continue
		}
		reached[k] = true
		for r := range n.refs {
			queue = append(queue, r)
		}
		for _, names := range n.ifaceCalls {
			queue = append(queue, implementers(names)...)
		}
	}

	// A table operation becomes pending on its table's name; the index rides along in
	// Resource until the name resolves to the table.
	tablePend := func(k string, op tableOp, name ast.Expr, res *resolver) {
		var syms []sym
		if name != nil {
			syms = res.str(name, 0)
		}
		if len(syms) == 0 {
			unresolved = append(unresolved, fmt.Sprintf("%s: dynamodb:%s on a table not told from the code", op.where, op.action))
		}
		u := Use{Action: "dynamodb:" + op.action, Where: op.where}
		if op.index != "" {
			u.Resource = "/index/" + op.index
		}
		for _, sy := range syms {
			pending = append(pending, pend{fn: k, use: u, sym: sy})
		}
	}
	keys := make([]string, 0, len(reached))
	for k := range reached {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := ix.funcs[k]
		for _, u := range n.sdk {
			switch {
			case u.Resource == "?":
				unresolved = append(unresolved, fmt.Sprintf("%s: direct DynamoDB call %s, whose table is not told (go through pkg/store)", u.Where, u.Action))
			case !u.tracked:
				uses = append(uses, u.Use)
			default:
				var syms []sym
				if u.resource != nil {
					syms = u.res.str(u.resource, 0)
				}
				if len(syms) == 0 {
					unresolved = append(unresolved, fmt.Sprintf("%s: %s on a resource not told from the code", u.Where, u.Action))
				}
				for _, sy := range syms {
					pending = append(pending, pend{fn: k, use: u.Use, sym: sy})
				}
			}
		}
		for _, op := range n.ops {
			if op.param < 0 {
				tablePend(k, op, op.name, op.res)
			}
		}
		// Operations on a table parameter take the table from each reached call site.
		for _, c := range n.calls {
			callee := ix.funcs[c.callee]
			if callee == nil {
				continue
			}
			for _, op := range callee.ops {
				// A method's parameters do not count its receiver; a call's args neither.
				if op.param >= 0 && op.param < len(c.args) {
					name, _ := c.res.table(c.args[op.param])
					tablePend(k, op, name, c.res)
				}
			}
		}
	}
	uses, unresolved = ix.resolvePending(pending, reached, env, uses, unresolved)
	for _, k := range keys {
		for _, op := range ix.funcs[k].ops {
			if op.param >= 0 && !calledFromReached(ix, reached, k) {
				unresolved = append(unresolved, fmt.Sprintf("%s: dynamodb:%s on a table parameter with no reached caller", op.where, op.action))
			}
		}
	}
	return uses, unresolved
}

func calledFromReached(ix *sdkIndex, reached map[string]bool, callee string) bool {
	for k := range reached {
		for _, c := range ix.funcs[k].calls {
			if c.callee == callee {
				return true
			}
		}
	}
	return false
}

type pend struct {
	fn  string
	use Use
	sym sym
}

// resolvePending follows each resource value to an environment variable: a parameter is
// resolved at every reached call site of its function, which may hand it on to that
// function's own caller.
func (ix *sdkIndex) resolvePending(work []pend, reached map[string]bool, env map[string]string, uses []Use, unresolved []string) ([]Use, []string) {
	seen := map[string]bool{}
	for len(work) > 0 {
		p := work[0]
		work = work[1:]
		id := fmt.Sprintf("%s|%s|%s|%+v", p.fn, p.use.Action, p.use.Where, p.sym)
		if seen[id] {
			continue
		}
		seen[id] = true
		switch p.sym.kind {
		case symEnv:
			res := env[p.sym.s]
			if res == "" {
				unresolved = append(unresolved, fmt.Sprintf("%s: %s on the resource in %s, which the function's environment does not name", p.use.Where, p.use.Action, p.sym.s))
				continue
			}
			u := p.use
			u.Resource = res + u.Resource // the table's index, if any
			uses = append(uses, u)
		case symStr:
			unresolved = append(unresolved, fmt.Sprintf("%s: %s on the constant %q, not a resource of the template", p.use.Where, p.use.Action, p.sym.s))
		case symParam:
			callers := 0
			for k := range reached {
				for _, c := range ix.funcs[k].calls {
					if c.callee != p.fn || p.sym.param >= len(c.args) {
						continue
					}
					callers++
					where := ix.pos(c.args[p.sym.param].Pos())
					args := c.res.str(c.args[p.sym.param], 0)
					if len(args) == 0 && c.res.isRecvSecretARN(c.args[p.sym.param]) {
						work = append(work, pend{fn: k, use: p.use, sym: sym{kind: symSecretRecv}})
						continue
					}
					if len(args) == 0 {
						unresolved = append(unresolved, fmt.Sprintf("%s: %s on a resource that %s passes in a form not told from the code", p.use.Where, p.use.Action, where))
					}
					for _, a := range args {
						next, ok := combine(a, p.sym)
						if !ok {
							unresolved = append(unresolved, fmt.Sprintf("%s: %s on a resource that %s passes in a form not told from the code", p.use.Where, p.use.Action, where))
							continue
						}
						work = append(work, pend{fn: k, use: p.use, sym: next})
					}
				}
			}
			if callers == 0 {
				unresolved = append(unresolved, fmt.Sprintf("%s: %s on a parameter of %s, which no reached code calls", p.use.Where, p.use.Action, p.fn))
			}
		case symSecretRecv, symSecretParam:
			callers := 0
			for k := range reached {
				for _, c := range ix.funcs[k].calls {
					if c.callee != p.fn {
						continue
					}
					x := c.recv
					if p.sym.kind == symSecretParam {
						if p.sym.param >= len(c.args) {
							continue
						}
						x = c.args[p.sym.param]
					}
					if x == nil {
						continue
					}
					callers++
					refs := c.res.secretRef(x, 0)
					if len(refs) == 0 {
						unresolved = append(unresolved, fmt.Sprintf("%s: %s on the secret of a config.SecretRef that %s passes in a form not told from the code", p.use.Where, p.use.Action, ix.pos(x.Pos())))
					}
					for _, a := range refs {
						switch a.kind {
						case symStr:
							work = append(work, pend{fn: k, use: p.use, sym: sym{kind: symEnv, s: a.s + "_ARN"}})
						case symParam:
							work = append(work, pend{fn: k, use: p.use, sym: sym{kind: symSecretParam, param: a.param}})
						}
					}
				}
			}
			if callers == 0 {
				unresolved = append(unresolved, fmt.Sprintf("%s: %s on a config.SecretRef of %s, which no reached code calls", p.use.Where, p.use.Action, p.fn))
			}
		}
	}
	return uses, unresolved
}

// combine is a callee's parameter value p given the caller's argument a.
func combine(a, p sym) (sym, bool) {
	switch a.kind {
	case symStr:
		if p.getenv {
			return sym{kind: symEnv, s: a.s + p.suffix}, true
		}
		return sym{kind: symStr, s: a.s + p.suffix}, true
	case symEnv:
		if p.getenv || p.suffix != "" {
			return sym{}, false
		}
		return a, true
	case symParam:
		if a.getenv && p.getenv {
			return sym{}, false
		}
		return sym{kind: symParam, param: a.param, suffix: a.suffix + p.suffix, getenv: a.getenv || p.getenv}, true
	}
	return sym{}, false
}

// inputField returns the value of field in an SDK call's input (&svc.OpInput{Field: x}).
func inputField(args []ast.Expr, field string) ast.Expr {
	if len(args) < 2 {
		return nil
	}
	x := ast.Unparen(args[1])
	if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.AND {
		x = ast.Unparen(u.X)
	}
	lit, ok := x.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == field {
			return kv.Value
		}
	}
	return nil
}

// structLiteral records the values a literal of one of the module's struct types gives
// its fields.
func (ix *sdkIndex) structLiteral(p *packages.Package, r *resolver, lit *ast.CompositeLit) {
	tv, ok := p.TypesInfo.Types[lit]
	if !ok {
		return
	}
	named, ok := types.Unalias(tv.Type).(*types.Named)
	if !ok || named.Obj().Pkg() == nil || !strings.HasPrefix(named.Obj().Pkg().Path(), modulePath) {
		return
	}
	st, ok := named.Underlying().(*types.Struct)
	if !ok {
		return
	}
	prefix := named.Obj().Pkg().Path() + "." + named.Obj().Name() + "."
	for i, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			key := prefix + kv.Key.(*ast.Ident).Name
			ix.fields[key] = append(ix.fields[key], fieldVal{x: kv.Value, res: r, pkg: p.PkgPath})
		} else if i < st.NumFields() {
			key := prefix + st.Field(i).Name()
			ix.fields[key] = append(ix.fields[key], fieldVal{x: el, res: r, pkg: p.PkgPath})
		}
	}
}

// str returns the values a string expression can have, as far as the source tells.
func (r *resolver) str(x ast.Expr, depth int) []sym {
	if depth > 12 {
		return nil
	}
	if tv, ok := r.info.Types[x]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
		return []sym{{kind: symStr, s: constant.StringVal(tv.Value)}}
	}
	switch e := ast.Unparen(x).(type) {
	case *ast.CallExpr:
		if len(e.Args) != 1 {
			return nil
		}
		// aws.String(x) is x.
		if sel, ok := ast.Unparen(e.Fun).(*ast.SelectorExpr); ok && sel.Sel.Name == "String" {
			if f, ok := r.info.Uses[sel.Sel].(*types.Func); ok && pkgPath(f) == "github.com/aws/aws-sdk-go-v2/aws" {
				return r.str(e.Args[0], depth+1)
			}
		}
		// os.Getenv(x), getenv(x), lookup(x): a func(string) string reads the environment.
		if sig, ok := r.info.Types[e.Fun].Type.(*types.Signature); ok && isStringFunc(sig) {
			var out []sym
			for _, a := range r.str(e.Args[0], depth+1) {
				switch {
				case a.kind == symStr:
					out = append(out, sym{kind: symEnv, s: a.s})
				case a.kind == symParam && !a.getenv:
					out = append(out, sym{kind: symParam, param: a.param, suffix: a.suffix, getenv: true})
				}
			}
			return out
		}
	case *ast.BinaryExpr:
		suffix, ok := r.info.Types[e.Y]
		if e.Op != token.ADD || !ok || suffix.Value == nil || suffix.Value.Kind() != constant.String {
			return nil
		}
		var out []sym
		for _, a := range r.str(e.X, depth+1) {
			switch {
			case a.kind == symStr:
				out = append(out, sym{kind: symStr, s: a.s + constant.StringVal(suffix.Value)})
			case a.kind == symParam && !a.getenv:
				out = append(out, sym{kind: symParam, param: a.param, suffix: a.suffix + constant.StringVal(suffix.Value)})
			}
		}
		return out
	case *ast.Ident:
		return r.ident(e, depth, r.str)
	case *ast.SelectorExpr:
		// ref.ARN of a config.SecretRef made by env.Secret(NAME) is the value of NAME_ARN.
		if e.Sel.Name == "ARN" && isSecretRef(r.info.TypeOf(e.X)) {
			var out []sym
			for _, a := range r.secretRef(e.X, depth+1) {
				if a.kind == symStr {
					out = append(out, sym{kind: symEnv, s: a.s + "_ARN"})
				}
			}
			if len(out) > 0 {
				return out
			}
		}
		s := r.info.Selections[e]
		if s == nil || s.Kind() != types.FieldVal {
			return nil
		}
		// v.field where v ranges over a composite literal: every element's value.
		if id, ok := ast.Unparen(e.X).(*ast.Ident); ok && r.fn != nil {
			if lit := r.rangedLiteral(r.info.Uses[id]); lit != nil {
				var out []sym
				field := s.Index()[len(s.Index())-1]
				for _, el := range lit.Elts {
					cl, ok := el.(*ast.CompositeLit)
					if !ok {
						continue
					}
					for i, f := range cl.Elts {
						if kv, ok := f.(*ast.KeyValueExpr); ok {
							if kv.Key.(*ast.Ident).Name == e.Sel.Name {
								out = append(out, r.str(kv.Value, depth+1)...)
							}
						} else if i == field {
							out = append(out, r.str(f, depth+1)...)
						}
					}
				}
				return out
			}
		}
		// A field of one of the module's structs: every value a literal gives it.
		t := s.Recv()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		named, ok := types.Unalias(t).(*types.Named)
		if !ok || named.Obj().Pkg() == nil {
			return nil
		}
		var out []sym
		for _, fv := range r.ix.fields[named.Obj().Pkg().Path()+"."+named.Obj().Name()+"."+e.Sel.Name] {
			if r.ix.scope != nil && !r.ix.scope[fv.pkg] {
				continue
			}
			for _, a := range fv.res.str(fv.x, depth+1) {
				if a.kind != symParam { // a constructor's parameter is not followed
					out = append(out, a)
				}
			}
		}
		return out
	}
	return nil
}

// isRecvSecretARN tells whether x is recv.ARN, recv being the config.SecretRef receiver
// of the function r resolves in.
func (r *resolver) isRecvSecretARN(x ast.Expr) bool {
	sel, ok := ast.Unparen(x).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "ARN" || r.fn == nil || r.fn.Recv == nil || len(r.fn.Recv.List) == 0 {
		return false
	}
	id, ok := ast.Unparen(sel.X).(*ast.Ident)
	if !ok || len(r.fn.Recv.List[0].Names) == 0 || r.info.Uses[id] != r.info.Defs[r.fn.Recv.List[0].Names[0]] {
		return false
	}
	return isSecretRef(r.info.TypeOf(id))
}

func isSecretRef(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := types.Unalias(t).(*types.Named)
	return ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == configPkg && named.Obj().Name() == "SecretRef"
}

// secretRef returns the variable names a config.SecretRef expression was made from
// (env.Secret(NAME)), or the parameter it comes in through.
func (r *resolver) secretRef(x ast.Expr, depth int) []sym {
	if depth > 12 {
		return nil
	}
	switch e := ast.Unparen(x).(type) {
	case *ast.CallExpr:
		sel, ok := ast.Unparen(e.Fun).(*ast.SelectorExpr)
		if !ok || len(e.Args) != 1 {
			return nil
		}
		if f, ok := r.info.Uses[sel.Sel].(*types.Func); ok && pkgPath(f) == configPkg && f.Name() == "Secret" {
			var out []sym
			for _, a := range r.str(e.Args[0], depth+1) {
				if a.kind == symStr {
					out = append(out, a)
				}
			}
			return out
		}
	case *ast.Ident:
		return r.ident(e, depth, r.secretRef)
	}
	return nil
}

// ident resolves an identifier of the function being read: the parameter it is, or what
// was assigned to it, read in turn by follow.
func (r *resolver) ident(e *ast.Ident, depth int, follow func(ast.Expr, int) []sym) []sym {
	obj := r.info.Uses[e]
	if obj == nil || r.fn == nil {
		return nil
	}
	if i := r.paramIndex(obj); i >= 0 {
		return []sym{{kind: symParam, param: i}}
	}
	if rhs := r.assigned(obj); rhs != nil {
		return follow(rhs, depth+1)
	}
	return nil
}

func isStringFunc(sig *types.Signature) bool {
	return sig.Params().Len() == 1 && sig.Results().Len() == 1 &&
		types.Identical(sig.Params().At(0).Type(), types.Typ[types.String]) &&
		types.Identical(sig.Results().At(0).Type(), types.Typ[types.String])
}
