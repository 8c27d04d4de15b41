/* fork_during_apply target: two threads (the main thread and another) fork()
 * without pause; each child calls compute(7), mallocs and frees, and exits with
 * 0 if it got the old result, 1 if the new one. The parent reaps every child: a child killed by a signal or
 * exiting with another status prints BAD. A third thread mallocs and frees, so
 * that fork() (which takes every malloc lock around the clone) often waits for
 * it. Every 20 ms: "compute(7)=N forks=N child_old=N child_new=N".
 *
 * The main thread is one of the forking threads and the reporter is created
 * last: the loader borrows the first thread (in thread-id order, the main thread
 * first) that is at a point it deems safe, so the thread it borrows for its
 * remote dlopen is usually a forking one, possibly just back from the clone() of
 * a fork and still holding every malloc lock. The scenario runs the target at
 * nice 19 so that its busy threads leave the CPU to the hotpatch CLI. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static unsigned long forks, child_old, child_new;
static void *reporter(void *arg);


static void *forker(void *arg) {
  (void)arg;
  for (;;) {
    pid_t pid = fork();
    if (pid < 0) {
      printf("BAD fork failed\n");
      usleep(10000);
      continue;
    }
    if (pid == 0) {
      int r = compute(7);
      char *p = malloc(1000);
      if (!p) _exit(3);
      memset(p, 1, 1000);
      free(p);
      _exit(r == 21 ? 0 : r == 70 ? 1 : 2);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
      printf("BAD waitpid(%d) failed\n", (int)pid);
      continue;
    }
    __atomic_add_fetch(&forks, 1, __ATOMIC_RELAXED);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      __atomic_add_fetch(&child_old, 1, __ATOMIC_RELAXED);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
      __atomic_add_fetch(&child_new, 1, __ATOMIC_RELAXED);
    } else if (WIFSIGNALED(status)) {
      printf("BAD child %d killed by signal %d\n", (int)pid, WTERMSIG(status));
    } else {
      printf("BAD child %d exited with status %d\n", (int)pid, WEXITSTATUS(status));
    }
  }
  return NULL;
}

static void *hammer_malloc(void *arg) {
  unsigned seed = 12345;
  for (;;) {
    size_t size = 16 + rand_r(&seed) % 65536;
    char *p = malloc(size);
    if (p) p[size - 1] = 1;
    free(p);
  }
  return arg;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, forker, NULL);
  pthread_create(&t, NULL, hammer_malloc, NULL);
  pthread_create(&t, NULL, reporter, NULL);
  printf("ready pid=%d\n", (int)getpid());
  forker(NULL);
}

static void *reporter(void *arg) {
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d forks=%lu child_old=%lu child_new=%lu\n", r, __atomic_load_n(&forks, __ATOMIC_RELAXED),
           __atomic_load_n(&child_old, __ATOMIC_RELAXED), __atomic_load_n(&child_new, __ATOMIC_RELAXED));
    usleep(20000);
  }
  return arg;
}
