// The seed article's program (../shared/seed/article-zh.md, "所以完整代码如下"),
// as written, gofmt'ed: it claims step 04. Not the course's code: kept to
// show, with make article, what the checks say about it (docs/article.md).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	// 根据命令行参数选择执行不同的操作
	switch os.Args[1] {
	case "run":
		parent() // 执行parent函数
	case "child":
		child() // 执行child函数
	default:
		panic("wat should I do") // 抛出异常,程序无法继续执行
	}
}

func parent() {
	cmd := exec.Command("/proc/self/exe", append([]string{"child"}, os.Args[2:]...)...)

	// 设置子进程的命名空间
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
	}

	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	// 运行命令并检查错误
	if err := cmd.Run(); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
}

func child() {
	// 挂载文件系统
	must(syscall.Mount("rootfs", "rootfs", "", syscall.MS_BIND, ""))
	must(os.MkdirAll("rootfs/oldrootfs", 0700))
	must(syscall.PivotRoot("rootfs", "rootfs/oldrootfs"))
	must(os.Chdir("/"))

	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	// 运行命令并检查错误
	if err := cmd.Run(); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
}

func must(err error) {
	// 如果错误不为空,抛出panic异常
	if err != nil {
		panic(err)
	}
}
