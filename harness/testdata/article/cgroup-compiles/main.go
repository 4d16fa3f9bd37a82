// The seed article's cgroup program (../shared/seed/article-zh.md), step 05,
// without the line that does not compile (Cgroup: "mycontainer" in
// syscall.SysProcAttr, a field Go does not have). Otherwise as written.
// Not the course's code: see docs/article.md.
package main

import (
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	// 创建 cgroup
	err := createCgroup("mycontainer")
	if err != nil {
		fmt.Println("Failed to create cgroup:", err)
		return
	}

	defer func() {
		// 退出时删除 cgroup
		err := deleteCgroup("mycontainer")
		if err != nil {
			fmt.Println("Failed to delete cgroup:", err)
		}
	}()

	// 限制 CPU 使用率为 50%
	err = setCPULimit("mycontainer", 50)
	if err != nil {
		fmt.Println("Failed to set CPU limit:", err)
		return
	}

	// 在容器中运行命令
	cmd := exec.Command("/bin/bash")
	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET,
	}

	err = cmd.Run()
	if err != nil {
		fmt.Println("Failed to run command in container:", err)
	}
}

func createCgroup(name string) error {
	cgroupPath := "/sys/fs/cgroup/cpu/" + name
	err := os.Mkdir(cgroupPath, 0755)
	if err != nil {
		return err
	}

	// 将当前进程加入到 cgroup 中
	err = ioutil.WriteFile(cgroupPath+"/tasks", []byte(strconv.Itoa(os.Getpid())), 0644)
	if err != nil {
		return err
	}

	return nil
}

func deleteCgroup(name string) error {
	cgroupPath := "/sys/fs/cgroup/cpu/" + name
	err := os.Remove(cgroupPath)
	if err != nil {
		return err
	}

	return nil
}

func setCPULimit(name string, limit int) error {
	cgroupPath := "/sys/fs/cgroup/cpu/" + name
	err := ioutil.WriteFile(cgroupPath+"/cpu.cfs_quota_us", []byte(strconv.Itoa(limit*1000)), 0644)
	if err != nil {
		return err
	}

	return nil
}
