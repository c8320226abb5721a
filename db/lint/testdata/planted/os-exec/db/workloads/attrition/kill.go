package attrition

import "os/exec"

var _ = exec.Command
