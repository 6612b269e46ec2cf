/* SPDX-License-Identifier: MIT */
/* A stand-in /init for the initfs boot test: loads the modules listed in
 * /lib/modules/vmctr/load-order with finit_module (virtio_mmio gets the device=
 * parameters the kernel command line carries for it), reports what the guest sees
 * on the console, and reboots. Static, no dependencies. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int has_fs(const char *fs) {
  char line[128];
  FILE *f = fopen("/proc/filesystems", "r");
  int found = 0;
  if (!f)
    return 0;
  while (fgets(line, sizeof(line), f)) {
    char *t = strrchr(line, '\t');
    t = t ? t + 1 : line;
    t[strcspn(t, "\n")] = '\0';
    if (strcmp(t, fs) == 0)
      found = 1;
  }
  fclose(f);
  return found;
}

int main(void) {
  static char cmdline[4096], params[4096], name[256];
  struct stat st;
  int loaded = 0, failed = 0, devices = 0;
  FILE *f;

  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  f = fopen("/proc/cmdline", "r");
  if (f) {
    if (!fgets(cmdline, sizeof(cmdline), f))
      cmdline[0] = '\0';
    fclose(f);
  }
  /* Loaded modules do not see the kernel command line: pass their part ourselves. */
  for (char *tok = strtok(cmdline, " \n"); tok; tok = strtok(NULL, " \n"))
    if (strncmp(tok, "virtio_mmio.", 12) == 0 && strlen(params) + strlen(tok) + 2 < sizeof(params)) {
      strcat(params, tok + 12);
      strcat(params, " ");
    }
  f = fopen("/lib/modules/vmctr/load-order", "r");
  while (f && fgets(name, sizeof(name), f)) {
    char path[512];
    name[strcspn(name, "\n")] = '\0';
    snprintf(path, sizeof(path), "/lib/modules/vmctr/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    const char *p = strncmp(name, "virtio_mmio.ko", 15) == 0 ? params : "";
    if (fd < 0 || (syscall(SYS_finit_module, fd, p, 0) < 0 && errno != EEXIST)) {
      printf("VMCTR-TEST module %s failed: %s\n", name, strerror(errno));
      failed++;
    } else {
      loaded++;
    }
    if (fd >= 0)
      close(fd);
  }
  if (f)
    fclose(f);
  DIR *d = opendir("/sys/bus/virtio/devices");
  for (struct dirent *de; d && (de = readdir(d));)
    if (de->d_name[0] != '.')
      devices++;
  if (d)
    closedir(d);
  printf("VMCTR-TEST modules=%d failed=%d virtio=%d vda=%s console=%s fs=%s%s%s%s\n", loaded,
         failed, devices, stat("/sys/block/vda", &st) == 0 ? "yes" : "no",
         isatty(1) ? "tty" : "none", has_fs("ext4") ? "ext4," : "", has_fs("overlay") ? "overlay," : "",
         has_fs("virtiofs") ? "virtiofs," : "", has_fs("tmpfs") ? "tmpfs" : "");
  fflush(stdout);
  sync();
  reboot(RB_AUTOBOOT);
  return 1;
}
