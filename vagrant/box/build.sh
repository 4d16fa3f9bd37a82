#!/usr/bin/env bash
# Build a Debian bookworm box for Vagrant's libvirt provider from Debian's
# archive, with no other download: debootstrap, a kernel, sshd, sudo, the
# vagrant user with Vagrant's public insecure key, and what stepbox's tests
# need (busybox-static, make, rsync, and the host's Go toolchain when it is
# the version go.mod names).
#
#   sudo vagrant/box/build.sh [--out DIR] [--size GiB] [--no-go] [--add NAME]
#
# Writes DIR/stepbox-bookworm-amd64.box (default DIR: ./vagrant/box/out).
# --add NAME also runs `vagrant box add --force --name NAME` on it.
#
# Needs root, debootstrap, qemu-img (qemu-utils), mkfs.ext4 (e2fsprogs),
# sfdisk (fdisk), grub-mkimage (grub-common) and GRUB's BIOS images
# (grub-pc-bin), and the vagrant package (for its insecure key). The host's
# mount table is never touched: debootstrap's mounts happen in a private
# mount namespace (unshare), and the disk is written without mounting it
# or using a loop device.
set -euo pipefail

out=vagrant/box/out
size=8
with_go=1
add_name=
arch=amd64
suite=bookworm
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--no-go) with_go=0; shift ;;
	--add) add_name=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "build.sh: $*" >&2; exit 125; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot): run it with sudo"
if [ "$arch" != amd64 ]; then
	die "only amd64 boxes are built here; an arm64 box needs an arm64 host (or qemu-user-static), grub-efi-arm64 and UEFI firmware: use a public arm64 box (see vagrant/README.md)"
fi
[ -f /usr/lib/grub/i386-pc/boot.img ] || die "GRUB's BIOS images not found: apt-get install grub-pc-bin"
for tool in debootstrap qemu-img mkfs.ext4 sfdisk grub-mkimage unshare; do
	command -v "$tool" >/dev/null || die "$tool not found: apt-get install debootstrap qemu-utils e2fsprogs fdisk grub-common grub-pc-bin util-linux"
done

started=$SECONDS
step_start=$SECONDS
step() {
	[ -n "${step_name:-}" ] && printf 'build.sh: %-24s %4ds\n' "$step_name" $((SECONDS - step_start))
	step_name=$1
	step_start=$SECONDS
}

# The mirror this machine already uses: the first "deb" source for Debian
# in deb822 (.sources) or one-line (sources.list) form. No host name is
# written into this repository.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
			/^$/ { if (deb && uri != "" && suites ~ /(^| )'"$suite"'( |$)/) { print uri; exit } deb=0; uri=""; suites="" }
			/^Types:/ && / deb( |$)/ { deb=1 }
			/^URIs:/ { uri=$2 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites=$0 }
			END { if (deb && uri != "" && suites ~ /(^| )'"$suite"'( |$)/) print uri }
		' "$f" | head -1
	done | grep -v -- '-security' | head -1
	if [ -r /etc/apt/sources.list ]; then
		awk '$1 == "deb" && $3 == "'"$suite"'" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list
	fi
}
mirror=$(debian_mirror | head -1)
[ -n "$mirror" ] || die "no Debian $suite source in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources: pass one in APT sources first"

# Vagrant's well-known insecure public key ships inside the vagrant package.
insecure_key=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub /usr/share/vagrant/keys/vagrant.pub /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -1 || true)
[ -n "$insecure_key" ] || die "Vagrant's insecure key (keys/vagrant.pub) not found: apt-get install vagrant"

# Go for learners who edit inside the VM: the host's toolchain, if it is
# at least the version go.mod names.
repo=$(cd "$(dirname "$0")/../.." && pwd)
goroot=
if [ "$with_go" = 1 ]; then
	want=$(awk '$1 == "go" { print $2; exit }' "$repo/go.mod")
	gobin=$(command -v go || echo /usr/local/go/bin/go)
	if [ -x "$gobin" ]; then
		have=$("$gobin" env GOVERSION | sed 's/^go//')
		goroot=$("$gobin" env GOROOT)
		if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" != "$want" ]; then
			echo "build.sh: host Go $have is older than go.mod's $want: the box gets no Go" >&2
			goroot=
		fi
	else
		echo "build.sh: no Go on the host: the box gets no Go (learners can still run the tests)" >&2
	fi
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/stepbox-box-XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$work/root
disk=$work/disk.raw

step "debootstrap"
echo "build.sh: debootstrap $suite $arch from the mirror in the host's APT sources (log: $work/debootstrap.log)"
packages=linux-image-$arch,systemd-sysv,udev,dbus,kmod,iproute2,openssh-server,sudo,busybox-static,make,rsync,ca-certificates,less,procps,e2fsprogs
# An initramfs with only the drivers a VM boots from: much faster to make
# than Debian's MODULES=most, and debootstrap keeps these files (confold).
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/stepbox-vm.conf"
printf '%s\n' virtio_pci virtio_blk virtio_scsi virtio_net ahci sd_mod ata_piix ext4 crc32c_generic >"$root/etc/initramfs-tools/modules"
# debootstrap mounts /proc and /sys in the target: keep those mounts in a
# mount namespace of their own, so the host's table never changes.
if ! unshare --mount --propagation private \
	debootstrap --arch="$arch" --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -20 "$work/debootstrap.log" >&2
	die "debootstrap failed (the last lines are above)"
fi

step "configure"
uuid=$(cat /proc/sys/kernel/random/uuid)
echo stepbox >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tstepbox\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$uuid" >"$root/etc/fstab"
# APT in the guest uses the same archive as the host that built it.
printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
: >"$root/etc/machine-id"

# Any wired interface gets DHCP from the provider's network.
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/50-dhcp.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1

# Every box gets its own host keys, made at first boot.
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.d"
# ssh.service's own "sshd -t" fails without keys, so it goes after.
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' >"$root/etc/systemd/system/ssh.service.d/host-keys.conf"
printf 'UseDNS no\n' >"$root/etc/ssh/sshd_config.d/vagrant.conf"

# The vagrant user, as every Vagrant box has it.
chroot "$root" useradd --create-home --shell /bin/bash vagrant
echo vagrant:vagrant | chroot "$root" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$root/etc/sudoers.d/vagrant"
chmod 0440 "$root/etc/sudoers.d/vagrant"
install -d -m 0700 "$root/home/vagrant/.ssh"
install -m 0600 "$insecure_key" "$root/home/vagrant/.ssh/authorized_keys"
chroot "$root" chown -R vagrant:vagrant /home/vagrant/.ssh

if [ -n "$goroot" ]; then
	cp -a "$goroot" "$root/usr/local/go"
	rm -rf "$root/usr/local/go/pkg/obj" "$root/usr/local/go/test"
	echo 'export PATH=$PATH:/usr/local/go/bin' >"$root/etc/profile.d/go.sh"
	echo "build.sh: Go $("$goroot/bin/go" env GOVERSION) copied from $goroot"
fi
chroot "$root" apt-get clean

# GRUB, BIOS style: its modules in /boot/grub, a config that finds the
# root by UUID (there is no udev here to name the disk for grub-mkconfig).
kernel=$(cd "$root/boot" && ls vmlinuz-* | sort -V | tail -1)
initrd=initrd.img-${kernel#vmlinuz-}
[ -f "$root/boot/$initrd" ] || die "no $initrd in the new system: did the kernel's postinst fail? (see $work/debootstrap.log)"
mkdir -p "$root/boot/grub/i386-pc"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
cat >"$root/boot/grub/grub.cfg" <<CFG
set timeout=1
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
search --no-floppy --fs-uuid --set=root $uuid
menuentry "Debian $suite (stepbox box)" {
	linux /boot/$kernel root=UUID=$uuid ro console=tty0 console=ttyS0,115200 net.ifnames=0
	initrd /boot/$initrd
}
CFG

step "disk image"
# One MBR partition from 1 MiB; the filesystem is written straight from
# the directory (mkfs.ext4 -d), so nothing is mounted. grub 2.06 cannot
# read ext4's orphan_file, so that feature stays off.
truncate -s "${size}G" "$disk"
echo 'start=2048, type=83, bootable' | sfdisk --quiet "$disk"
part_bytes=$(( (size * 1024 * 1024 * 1024) - 1048576 ))
mkfs.ext4 -q -F -U "$uuid" -L stepbox-root -O ^orphan_file,^metadata_csum_seed -E offset=1048576 -d "$root" "$disk" "$((part_bytes / 1024))k" 2>"$work/mkfs.log" ||
	mkfs.ext4 -q -F -U "$uuid" -L stepbox-root -E offset=1048576 -d "$root" "$disk" "$((part_bytes / 1024))k"
rm -rf "$root"

# GRUB's boot sector (its first 440 bytes: the partition table stays) and
# its core image right after it, as grub-install would embed them. No
# loop device is needed: core.img's block list already points at the
# sectors that follow it, and its prefix names the partition outright.
grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2 search_fs_uuid
[ "$(stat -c %s "$work/core.img")" -lt $((2047 * 512)) ] || die "GRUB's core image does not fit before the partition"
dd if=/usr/lib/grub/i386-pc/boot.img of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none

step "box"
qemu-img convert -O qcow2 "$disk" "$work/box.img"
rm -f "$disk"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' "$size" >"$work/metadata.json"
cat >"$work/Vagrantfile" <<'VF'
# Box defaults; the project's Vagrantfile sets the rest.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
VF
box=$out/stepbox-bookworm-$arch.box
(cd "$work" && tar -cf "$box" metadata.json Vagrantfile box.img)
echo "build.sh: wrote $box ($(du -h "$box" | cut -f1))"

if [ -n "$add_name" ]; then
	step "vagrant box add"
	vagrant box add --force --name "$add_name" "$box"
fi
step ""
printf 'build.sh: total %ds\n' $((SECONDS - started))
