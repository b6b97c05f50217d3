/*
 * Files out of the code generator: linking an object into a shared object
 * with the system's C compiler driver, and writing files atomically.
 *
 * Linking: LLVM has no linker behind its C API, so the object is handed to
 * a C compiler driver (`cc` for the host; `<triple>-gcc` when cross
 * compiling, e.g. aarch64-linux-gnu-gcc from Debian's gcc-aarch64-linux-gnu;
 * any driver by option). The driver links libc and, as needed, libm, and
 * statically whatever compiler support routines the code calls (libgcc's
 * half-precision conversions on CPUs without F16C). The soname is the
 * output's file name, so programs linking the artifact record that name
 * and not a path.
 *
 * Atomic output: everything is written to a temporary file in the target
 * folder (".NAME.XXXXXX") and renamed into place, so a failure never
 * leaves a partial or stale-looking file behind, and temporary names never
 * reach the output (the linker is given the final soname explicitly).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/cg.h"

extern char **environ;

/* Splits path into a malloc'd folder ("." if none) and the file name. */
static bool split_path(const char *path, char **dir, const char **base) {
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  size_t n = slash ? (size_t)(slash - path) : 1;
  if (slash && n == 0) n = 1; /* "/x" */
  *dir = malloc(n + 1);
  if (!*dir) return false;
  if (slash) memcpy(*dir, path, n);
  else (*dir)[0] = '.';
  (*dir)[n] = 0;
  return true;
}

/* Creates "<dir>/.<base>.<tag>XXXXXX"; returns the malloc'd name and an
 * open descriptor, or NULL after reporting. */
static char *temp_in(const char *path, const char *tag, int *fd, diag *d) {
  char *dir;
  const char *base;
  if (!split_path(path, &dir, &base)) {
    diag_error(d, "out of memory");
    return NULL;
  }
  if (!*base) {
    diag_error(d, "%s: not a file name", path);
    free(dir);
    return NULL;
  }
  size_t n = strlen(dir) + strlen(base) + strlen(tag) + 16;
  char *t = malloc(n);
  if (!t) {
    free(dir);
    diag_error(d, "out of memory");
    return NULL;
  }
  snprintf(t, n, "%s/.%s.%sXXXXXX", dir, base, tag);
  *fd = mkstemp(t);
  if (*fd < 0) {
    diag_error(d, "cannot create a file in %s: %s", dir, strerror(errno));
    free(t);
    t = NULL;
  }
  free(dir);
  return t;
}

static bool write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    len -= (size_t)w;
  }
  return true;
}

/* Whether path exists and is neither a regular file nor a folder: a
 * character device (/dev/null, /dev/stdout), a FIFO. Renaming a finished
 * file over it would replace it (as root, /dev/null itself), so the bytes
 * are written into it instead. */
static bool special_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* Writes len bytes from data, or (data NULL) the contents of the file
 * `from`, into the existing special file path. */
static bool write_into(const char *path, const void *data, size_t len, const char *from, diag *d) {
  int fd = open(path, O_WRONLY | O_CLOEXEC), in = -1;
  bool ok = fd >= 0;
  if (ok && !data) ok = (in = open(from, O_RDONLY | O_CLOEXEC)) >= 0;
  if (ok && data) ok = write_all(fd, data, len);
  while (ok && !data) {
    char buf[65536];
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    ok = write_all(fd, buf, (size_t)n);
  }
  int err = errno;
  if (in >= 0) close(in);
  if (fd >= 0 && close(fd) != 0 && ok) ok = false, err = errno;
  if (!ok) diag_error(d, "cannot write %s: %s", path, strerror(err ? err : EIO));
  return ok;
}

bool cg_write_file_atomic(const char *path, const void *data, size_t len, int mode, diag *d) {
  if (special_file(path)) return write_into(path, data ? data : "", len, NULL, d);
  int fd;
  char *tmp = temp_in(path, "", &fd, d);
  if (!tmp) return false;
  bool ok = write_all(fd, data, len);
  int err = errno;
  ok = close(fd) == 0 && ok;
  if (ok) ok = chmod(tmp, (mode_t)mode) == 0;
  if (ok && rename(tmp, path) != 0) {
    err = errno;
    ok = false;
  }
  if (!ok) {
    diag_error(d, "cannot write %s: %s", path, strerror(err ? err : EIO));
    unlink(tmp);
  }
  free(tmp);
  return ok;
}

/* Whether `prog` (a name searched in PATH, or a path) can be executed. */
static bool find_program(const char *prog) {
  if (strchr(prog, '/')) return access(prog, X_OK) == 0;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/bin:/bin";
  size_t pl = strlen(prog);
  for (const char *p = path; *p;) {
    const char *e = strchr(p, ':');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char buf[4096];
    if (n + pl + 2 < sizeof buf) {
      memcpy(buf, n ? p : ".", n ? n : 1);
      size_t k = n ? n : 1;
      buf[k] = '/';
      memcpy(buf + k + 1, prog, pl + 1);
      if (access(buf, X_OK) == 0) return true;
    }
    if (!e) break;
    p = e + 1;
  }
  return false;
}

/* Runs argv, collecting its standard output and error (up to a limit) in
 * *log (malloc'd). Returns the exit status, or -1 if it could not run. */
static int run_capture(char *const *argv, char **log) {
  int pfd[2];
  *log = NULL;
  if (pipe(pfd) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
  posix_spawn_file_actions_addclose(&fa, pfd[0]);
  posix_spawn_file_actions_addclose(&fa, pfd[1]);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (rc != 0) {
    close(pfd[0]);
    return -1;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    char tmp[1024];
    ssize_t r = read(pfd[0], tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (buf && n + (size_t)r + 1 <= cap) {
      memcpy(buf + n, tmp, (size_t)r);
      n += (size_t)r;
    }
  }
  close(pfd[0]);
  if (buf) buf[n] = 0;
  *log = buf;
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

bool cg_link_shared(const void *obj, size_t len, const char *so_path, const char *triple, bool host,
                    const char *linker, diag *d) {
  char driver[256];
  if (linker) snprintf(driver, sizeof driver, "%s", linker);
  else if (host) snprintf(driver, sizeof driver, "cc");
  else snprintf(driver, sizeof driver, "%s-gcc", triple);
  if (!find_program(driver)) {
    if (host || linker)
      diag_error(d, "cannot link %s: the C compiler driver '%s' was not found (it links the shared object; pass another with --linker)",
                 so_path, driver);
    else
      diag_error(d,
                 "cannot link %s for %s: no cross C compiler '%s' was found; install one (Debian: gcc-<arch>-linux-gnu) "
                 "or pass --linker=DRIVER, or write just the object with --emit=obj",
                 so_path, triple, driver);
    return false;
  }
  int ofd, sfd;
  char *tobj = temp_in(so_path, "o.", &ofd, d); /* the driver takes any name as an object */
  if (!tobj) return false;
  char *tso = temp_in(so_path, "", &sfd, d);
  if (!tso) {
    close(ofd);
    unlink(tobj);
    free(tobj);
    return false;
  }
  close(sfd);
  bool ok = write_all(ofd, obj, len);
  ok = close(ofd) == 0 && ok;
  if (!ok) diag_error(d, "cannot write %s: %s", tobj, strerror(errno));
  const char *base = strrchr(so_path, '/');
  base = base ? base + 1 : so_path;
  char soname[512];
  snprintf(soname, sizeof soname, "-Wl,-soname,%s", base);
  char *argv[] = {driver, "-shared", "-o", tso, tobj, soname, "-Wl,-z,noexecstack", "-Wl,-z,relro", "-Wl,-z,now",
                  "-Wl,--as-needed", "-lm", NULL};
  char *log = NULL;
  if (ok) {
    int rc = run_capture(argv, &log);
    if (rc != 0) {
      if (rc < 0) diag_error(d, "cannot run '%s': %s", driver, strerror(errno));
      else diag_error(d, "linking %s with '%s' failed (exit status %d):\n%.3000s", so_path, driver, rc, log ? log : "");
      ok = false;
    }
  }
  free(log);
  unlink(tobj);
  free(tobj);
  bool copied = ok && special_file(so_path);
  if (copied) ok = write_into(so_path, NULL, 0, tso, d);
  else if (ok && (chmod(tso, 0755) != 0 || rename(tso, so_path) != 0)) {
    diag_error(d, "cannot write %s: %s", so_path, strerror(errno));
    ok = false;
  }
  if (!ok || copied) unlink(tso);
  free(tso);
  return ok;
}
