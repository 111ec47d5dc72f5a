// The fork server's C side (forkserver_linux.c): what the constructor left
// for the Go side to read.

#include <stddef.h>
#include <stdint.h>

// Request header, followed by nargs and then nenv NUL-terminated strings.
// Sent as one SOCK_SEQPACKET message with the three standard files of the
// new process attached (SCM_RIGHTS).
struct fs_request {
	uint32_t version;
	int32_t nice;
	uint32_t nargs;
	uint32_t nenv;
};

#define FS_VERSION 1
#define FS_MAX_REQUEST (128 * 1024)

// In the process that started the server: the socket to it and its pid,
// or -1 when there is none (fs_reason says why).
int fs_socket(void);
int fs_server_pid(void);
const char *fs_reason(void);

// The environment this process was started with (NULL-terminated).
char **fs_start_env(void);

// In a process the server forked: 1, and the request's strings (args then
// env, each NUL-terminated) in one block.
int fs_forked(void);
const char *fs_block(size_t *len, uint32_t *nargs, uint32_t *nenv);
