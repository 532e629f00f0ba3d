package runtimeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Config describes one function to run.
type Config struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME, log group, ARN).
	Name string
	// Path is the bootstrap binary, built for this machine with -tags lambda.norpc.
	Path string
	// Env is added to the variables Lambda sets, and wins over them: the
	// function's configuration and the SDK's AWS_ENDPOINT_URL, AWS_REGION, ...
	Env []string
	// MemoryMB is reported to the function; 128 when zero.
	MemoryMB int
	// Region and Account make the invoked function ARN; us-east-1 and
	// 123456789012 (moto's default account) when empty.
	Region, Account string
	// Output receives everything the process writes, one invocation at a
	// time, as each invocation ends; nil discards it (Result.Log still has it).
	Output io.Writer
}

// Function is one running execution environment: a bootstrap process
// served by its own Runtime API. Invocations run one after another, and
// the process stays warm between them, as in Lambda.
type Function struct {
	cfg Config
	srv *Server
	cmd *exec.Cmd
	log *os.File // the process's stdout and stderr
	off int64    // how much of log has been handed out

	exited  chan struct{}
	exitErr error // set before exited closes

	mu     sync.Mutex // one invocation at a time
	closed bool
}

// Start starts the binary. It returns once the process runs; init happens
// while the first Invoke waits, so init errors come back from it.
func Start(cfg Config) (*Function, error) {
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = 128
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "123456789012"
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, err
	}
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, cfg.Account, cfg.Name)
	srv, err := NewServer(arn)
	if err != nil {
		return nil, err
	}
	// A file, not a pipe: everything the process wrote before it posted a
	// response is in the file by then, so each Result.Log is complete.
	logFile, err := os.CreateTemp("", "runtimeapi-"+cfg.Name+"-*.log")
	if err != nil {
		srv.Close()
		return nil, err
	}
	os.Remove(logFile.Name()) // open handles keep it; nothing to clean up

	cmd := exec.Command(path) // #nosec G204 -- a function binary the local runner or a test built
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(lambdaEnv(cfg, srv.Addr(), cmd.Dir), cfg.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so Close reaches anything it starts, and killed
	// with its parent, so an interrupted run leaves no strays behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		srv.Close()
		logFile.Close()
		return nil, fmt.Errorf("start function %s: %w", cfg.Name, err)
	}
	f := &Function{cfg: cfg, srv: srv, cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exit status 0")
		}
		f.exitErr = err
		close(f.exited)
	}()
	return f, nil
}

// lambdaEnv is what Lambda sets for a provided.al2023 function, minus
// credentials, which the caller passes in Env. Nothing else of this
// process's environment is passed on, as Lambda passes none: a developer's
// AWS_PROFILE or keys must not reach a function meant to talk to moto.
func lambdaEnv(cfg Config, runtimeAPI, taskRoot string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"_HANDLER=bootstrap",
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME=" + cfg.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + newRequestID()[:8],
		"AWS_REGION=" + cfg.Region,
		"AWS_DEFAULT_REGION=" + cfg.Region,
	}
}

// Invoke runs one invocation and waits at most timeout for it. A function
// error comes back in Result.FunctionError with a nil error. The error is
// for an invocation that did not finish: the process exited or posted an
// init error, the timeout passed (ErrTimeout) or ctx ended. After a timeout
// or cancellation the process is stopped, as Lambda resets an environment
// whose invocation timed out, and later calls fail.
func (f *Function) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return Result{}, fmt.Errorf("invoke %s: %w", f.cfg.Name, ErrClosed)
	}
	select {
	case <-f.exited:
		return Result{Log: f.drain()}, fmt.Errorf("invoke %s: %w", f.cfg.Name, f.exitError())
	default:
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-f.exited:
			cancel(ErrExited)
		case <-ctx.Done():
		}
	}()
	res, err := f.srv.Invoke(ctx, payload, timeout)
	if errors.Is(err, ErrExited) {
		// A runtime posts its init error before it exits, so it is known by now.
		err = f.exitError()
	} else if err != nil {
		f.kill()
	}
	res.Log = f.drain()
	if err != nil {
		msg := fmt.Sprintf("invoke %s (request %s)", f.cfg.Name, res.RequestID)
		if last := lastLine(res.Log); last != "" {
			return res, fmt.Errorf("%s: %w; last output: %s", msg, err, last)
		}
		return res, fmt.Errorf("%s: %w", msg, err)
	}
	return res, nil
}

// ErrExited is returned when the function process is gone.
var ErrExited = errors.New("function process exited")

func (f *Function) exitError() error {
	if initErr := f.srv.InitError(); initErr != nil {
		return fmt.Errorf("%w (%v): %w", ErrExited, f.exitErr, initErr)
	}
	return fmt.Errorf("%w: %v", ErrExited, f.exitErr)
}

// drain returns what the process wrote since the last call, and copies it
// to Output.
func (f *Function) drain() []byte {
	end, err := f.log.Seek(0, io.SeekEnd)
	if err != nil || end <= f.off {
		return nil
	}
	b := make([]byte, end-f.off)
	n, _ := f.log.ReadAt(b, f.off)
	b = b[:n]
	f.off += int64(n)
	if f.cfg.Output != nil {
		_, _ = f.cfg.Output.Write(b)
	}
	return b
}

func (f *Function) kill() {
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	<-f.exited
}

// Close stops the process and the server. Output gets whatever the process
// wrote since the last invocation.
func (f *Function) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.kill()
	f.drain()
	f.srv.Close()
	return f.log.Close()
}

func lastLine(b []byte) string {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}
