package runtimeapi

// Pid is the function process's ID, for reading what the kernel knows of
// it (/proc/<pid>/status: peak RSS) while it runs.
func (f *Function) Pid() int { return f.cmd.Process.Pid }
