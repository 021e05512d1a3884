package devstack

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

// RIEModule is the Lambda Runtime Interface Emulator's module, pinned in go.mod as a tool.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator"

const riePackage = RIEModule + "/cmd/aws-lambda-rie"

// EnsureRIE returns the path of the emulator built from the version go.mod pins, building
// it into dir when it is missing or of another version (after calling building, when
// not nil). root is the module root.
func EnsureRIE(ctx context.Context, root, dir string, building func(version string)) (string, error) {
	want, err := pinnedVersion(filepath.Join(root, "go.mod"), RIEModule)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "aws-lambda-rie")
	if got := binaryDepVersion(path, RIEModule); got == want {
		return path, nil
	}
	if building != nil {
		building(want)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	if err := GoBuild(ctx, root, path, riePackage); err != nil {
		return "", fmt.Errorf("build the Lambda Runtime Interface Emulator: %w", err)
	}
	return path, nil
}

// GoBuild runs `go build -o out pkgs...` in root with the flags of `make build` (static,
// -tags lambda.norpc -trimpath), so that the build cache serves every build of the
// project's executables; out is a directory when several packages are built.
func GoBuild(ctx context.Context, root, out string, pkgs ...string) error {
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-o", out}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

// BuildFunctions builds every function of the template, and the emulator, into dir with
// the flags of `make build`, laid out as dir/bin/<function>/bootstrap, and returns that
// bin directory and the emulator's path: what tests and the soak run start a stack from,
// so that they never run stale binaries.
func BuildFunctions(ctx context.Context, root, dir string, tpl *samtemplate.Template) (binDir, rie string, err error) {
	out := filepath.Join(dir, "out")
	pkgs := []string{riePackage}
	for _, fn := range tpl.Functions() {
		pkgs = append(pkgs, "./functions/"+fn.Name)
	}
	if err := GoBuild(ctx, root, out+string(filepath.Separator), pkgs...); err != nil {
		return "", "", fmt.Errorf("build the functions: %w", err)
	}
	binDir = filepath.Join(dir, "bin")
	for _, fn := range tpl.Functions() {
		if err := os.MkdirAll(filepath.Join(binDir, fn.Name), 0o755); err != nil {
			return "", "", err
		}
		if err := os.Rename(filepath.Join(out, fn.Name), filepath.Join(binDir, fn.Name, "bootstrap")); err != nil {
			return "", "", err
		}
	}
	return binDir, filepath.Join(out, "aws-lambda-rie"), nil
}

// pinnedVersion reads module's version from a go.mod require line.
func pinnedVersion(gomod, module string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	return "", fmt.Errorf("go.mod does not require %s", module)
}

// binaryDepVersion is the version of module built into the executable at path, or "".
func binaryDepVersion(path, module string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	if bi.Main.Path == module {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			return d.Version
		}
	}
	return ""
}
