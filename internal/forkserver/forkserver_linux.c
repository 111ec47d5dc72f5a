// The part of the fork server that must run before the Go runtime starts:
// a constructor that forks the server while the process is still one
// thread with its shared libraries loaded and relocated, and the server's
// loop. See doc.go for why.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "forkserver.h"

// Set once by the constructor, before any other thread exists; read-only
// afterwards.
static int server_sock = -1;
static int server_pid = -1;
static const char *reason = "not started";
static char **start_env;

static int forked;
static const char *block;
static size_t block_len;
static uint32_t block_nargs, block_nenv;

// The bytes of this process's argument strings, which /proc/PID/cmdline
// and ps show; a forked helper writes its own arguments there.
static char *arg_area;
static size_t arg_area_len, arg0_len;

// Offset of the thread id in glibc's thread descriptor.
static size_t tid_offset;

// The kernel's struct clone_args in its first version (64 bytes), declared
// here because <linux/sched.h> clashes with glibc's <sched.h>.
struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

int fs_socket(void) { return server_sock; }
int fs_server_pid(void) { return server_pid; }
const char *fs_reason(void) { return reason; }
char **fs_start_env(void) { return start_env; }
int fs_forked(void) { return forked; }

const char *fs_block(size_t *len, uint32_t *nargs, uint32_t *nenv) {
	*len = block_len;
	*nargs = block_nargs;
	*nenv = block_nenv;
	return block;
}

// wants_server says whether this invocation may start helpers: the window
// (no arguments, or files) and the commands other than those below.
// FACEMIRROR_FORKSERVER=0 turns the server off, =1 on for any invocation
// but a helper (tests).
static int wants_server(int argc, char **argv) {
	const char *cmd = argc < 2 ? "" : argv[1];
	if (strcmp(cmd, "worker") == 0) {
		reason = "a helper starts no helpers";
		return 0;
	}
	const char *env = getenv("FACEMIRROR_FORKSERVER");
	if (env != NULL && strcmp(env, "0") == 0) {
		reason = "turned off by FACEMIRROR_FORKSERVER=0";
		return 0;
	}
	if (env != NULL && strcmp(env, "1") == 0)
		return 1;
	if (argc < 2)
		return 1;
	if (cmd[0] == '-' || strcmp(cmd, "help") == 0 || strcmp(cmd, "models") == 0 || strcmp(cmd, "report") == 0) {
		reason = "this command starts no helpers";
		return 0;
	}
	return 1;
}

// find_tid_offset finds where glibc keeps the thread id, from the
// description glibc publishes for debuggers (libthread_db), and checks it
// against the kernel's answer. A forked helper must have it right: glibc
// reads it for the calling thread in recursive and error-checking mutexes,
// and fork() sets it in the child, which a raw clone does only when told
// where (CLONE_CHILD_SETTID).
static int find_tid_offset(void) {
	const uint32_t *desc = dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
	if (desc == NULL || desc[0] != 8 * sizeof(pid_t) || desc[1] != 1)
		return 0;
	const pid_t *tid = (const pid_t *)((const char *)pthread_self() + desc[2]);
	if (*tid != (pid_t)syscall(SYS_gettid))
		return 0;
	tid_offset = desc[2];
	return 1;
}

static void note_arg_area(int argc, char **argv) {
	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return;
	char *end = argv[0];
	for (int i = 0; i < argc; i++) {
		if (argv[i] != end)
			return; // not the kernel's contiguous layout
		end += strlen(argv[i]) + 1;
	}
	arg_area = argv[0];
	arg_area_len = (size_t)(end - argv[0]);
	arg0_len = strlen(argv[0]) + 1;
}

static void close_from(int first) {
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
	struct rlimit lim;
	int max = 1024;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < 1 << 20)
		max = (int)lim.rlim_cur;
	for (int fd = first; fd < max; fd++)
		close(fd);
}

// valid checks a request: the header, then exactly nargs+nenv strings,
// each NUL-terminated, at least one argument, and "NAME=value" variables.
static int valid(const char *buf, size_t n) {
	struct fs_request hdr;
	if (n < sizeof hdr)
		return 0;
	memcpy(&hdr, buf, sizeof hdr);
	if (hdr.version != FS_VERSION || hdr.nargs < 1 || hdr.nargs > n || hdr.nenv > n)
		return 0;
	const char *s = buf + sizeof hdr, *end = buf + n;
	for (uint32_t i = 0; i < hdr.nargs + hdr.nenv; i++) {
		const char *nul = memchr(s, 0, (size_t)(end - s));
		if (nul == NULL)
			return 0;
		if (i >= hdr.nargs && (s[0] == '=' || memchr(s, '=', (size_t)(nul - s)) == NULL))
			return 0;
		s = nul + 1;
	}
	return s == end;
}

// The malloc settings glibc reads from the environment only when a process
// starts; a forked helper sets them itself.
static const struct {
	const char *prefix;
	int param;
} malloc_env[] = {
	{"MALLOC_ARENA_MAX=", M_ARENA_MAX},
	{"MALLOC_ARENA_TEST=", M_ARENA_TEST},
	{"MALLOC_MMAP_THRESHOLD_=", M_MMAP_THRESHOLD},
	{"MALLOC_MMAP_MAX_=", M_MMAP_MAX},
	{"MALLOC_TRIM_THRESHOLD_=", M_TRIM_THRESHOLD},
	{"MALLOC_TOP_PAD_=", M_TOP_PAD},
};

static void apply_malloc_env(const char *kv) {
	for (size_t i = 0; i < sizeof malloc_env / sizeof malloc_env[0]; i++) {
		size_t k = strlen(malloc_env[i].prefix);
		if (strncmp(kv, malloc_env[i].prefix, k) != 0)
			continue;
		char *end;
		long v = strtol(kv + k, &end, 10);
		if (end != kv + k && *end == 0 && v >= 0 && v <= 0x7fffffff)
			mallopt(malloc_env[i].param, (int)v);
	}
}

// show_args writes the helper's arguments after argv[0] into the argument
// area, as far as they fit, so that ps shows what the process is.
static void show_args(void) {
	if (arg_area == NULL)
		return;
	size_t pos = arg0_len;
	const char *s = block + strlen(block) + 1;
	for (uint32_t i = 1; i < block_nargs; i++) {
		size_t k = strlen(s) + 1;
		if (pos + k > arg_area_len)
			break;
		memcpy(arg_area + pos, s, k);
		pos += k;
		s += k;
	}
	memset(arg_area + pos, 0, arg_area_len - pos);
}

// become_helper turns the new process into the requested helper before
// the Go runtime starts in it: its standard files, its own process group
// (as the coordinator's exec path gives it), its priority (before any
// other thread exists, so every thread inherits it), its environment and
// arguments. buf stays allocated: the Go side reads the arguments from it.
static void become_helper(char *buf, size_t n, const int fds[3], const char *comm) {
	struct fs_request hdr;
	memcpy(&hdr, buf, sizeof hdr);
	for (int i = 0; i < 3; i++)
		dup2(fds[i], i);
	close_from(3);
	setpgid(0, 0);
	if (hdr.nice > 0)
		setpriority(PRIO_PROCESS, 0, hdr.nice);
	prctl(PR_SET_NAME, comm);

	block = buf + sizeof hdr;
	block_len = n - sizeof hdr;
	block_nargs = hdr.nargs;
	block_nenv = hdr.nenv;

	clearenv();
	const char *s = block;
	for (uint32_t i = 0; i < hdr.nargs; i++)
		s += strlen(s) + 1;
	for (uint32_t i = 0; i < hdr.nenv; i++) {
		putenv((char *)s);
		apply_malloc_env(s);
		s += strlen(s) + 1;
	}
	show_args();
	// The Go runtime seeds its random numbers (map order, hash seeds)
	// from the 16 bytes the kernel gave the starting process; an executed
	// helper would have fresh ones.
	unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
	if (rnd != NULL && getrandom(rnd, 16, 0) != 16)
		memset(rnd, 0, 16); // the runtime then reads /dev/urandom itself
	server_sock = -1;
	server_pid = -1;
	reason = "this is a forked helper";
	forked = 1;
}

static pid_t clone_helper(void) {
	struct clone_args_v0 args;
	memset(&args, 0, sizeof args);
	// CLONE_PARENT: the helper is the coordinator's child, so the
	// coordinator waits for it, reads its exit status and resource usage,
	// and is told when it dies, as for a helper it started itself. It takes
	// the server's exit signal, SIGCHLD (clone3 wants exit_signal 0 here).
	args.flags = CLONE_PARENT | CLONE_CHILD_SETTID;
	args.child_tid = (uint64_t)(uintptr_t)((char *)pthread_self() + tid_offset);
	return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

// serve answers requests until the socket closes, then exits. It returns
// only in a new helper, which goes on to start the Go runtime.
static char *serve(int sock, size_t *len, int fds[3]) {
	for (;;) {
		char *buf = malloc(FS_MAX_REQUEST + 1);
		if (buf == NULL)
			_exit(1);
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(4 * sizeof(int))];
		} ctl;
		struct iovec iov = {buf, FS_MAX_REQUEST + 1};
		struct msghdr msg;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof ctl.b;
		ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n == 0)
			_exit(0);
		if (n < 0) {
			free(buf);
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		int nfds = 0, extra = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
				if (nfds < 3) {
					fds[nfds++] = fd;
				} else {
					close(fd);
					extra = 1;
				}
			}
		}
		int32_t reply;
		if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
			reply = -EMSGSIZE;
		else if (nfds != 3 || extra || !valid(buf, (size_t)n))
			reply = -EBADMSG;
		else {
			pid_t pid = clone_helper();
			if (pid == 0) {
				*len = (size_t)n;
				return buf;
			}
			reply = pid > 0 ? pid : -errno;
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		free(buf);
		if (send(sock, &reply, sizeof reply, MSG_NOSIGNAL) != (ssize_t)sizeof reply)
			_exit(0);
	}
}

// run_server is the forked server's life. It returns only in a new helper.
static void run_server(int sock, pid_t parent) {
	// The server lives exactly as long as the process that started it.
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	// A terminal's Ctrl-C goes to the starting process, which shuts its
	// helpers down in order; the server then sees its socket close.
	setpgid(0, 0);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		for (int i = 0; i < 3; i++)
			dup2(null, i);
		if (null > 2)
			close(null);
	}
	if (sock != 3) {
		if (dup3(sock, 3, O_CLOEXEC) < 0)
			_exit(1);
		close(sock);
		sock = 3;
	}
	close_from(4);
	char comm[17] = {0};
	prctl(PR_GET_NAME, comm);
	prctl(PR_SET_NAME, "facemirror-fork");

	int fds[3];
	size_t n;
	char *buf = serve(sock, &n, fds);
	become_helper(buf, n, fds, comm);
}

__attribute__((constructor)) static void fs_start(int argc, char **argv, char **envp) {
	extern char **environ;
	start_env = envp != NULL ? envp : environ;
	note_arg_area(argc, argv);
	if (!wants_server(argc, argv))
		return;
	if (!find_tid_offset()) {
		reason = "this C library does not say where it keeps thread ids";
		return;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		reason = "socketpair failed";
		return;
	}
	// Started with a standard file closed, the socket would take its
	// number, and Go's os.Stdin (say) would be the socket.
	for (int i = 0; i < 2; i++) {
		if (sv[i] > 2)
			continue;
		int fd = fcntl(sv[i], F_DUPFD_CLOEXEC, 3);
		close(sv[i]);
		sv[i] = fd;
	}
	if (sv[0] < 0 || sv[1] < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		reason = "no file descriptor for the socket";
		return;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		reason = "fork failed";
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		run_server(sv[1], parent);
		return; // a new helper: the Go runtime starts next
	}
	close(sv[1]);
	server_sock = sv[0];
	server_pid = pid;
	reason = "";
}
