/* locks_malloc_dlopen target: threads that hold the locks a remote dlopen needs,
 * as often as they can, without pause. 4 threads malloc and free blocks of 16 B to 1 MiB (the
 * large ones are mmap'ed and munmap'ed: malloc's slow paths), 2 threads dlopen,
 * call and dlclose a small library each (argv[1], argv[2]: two files, so that
 * each dlopen really maps and each dlclose really unmaps), one thread calls
 * compute() every ms. Every 20 ms a reporter prints "compute(7)=N mallocs=N dlopens=N". A failed dlopen or
 * a wrong answer prints BAD.
 *
 * The main thread is one of the malloc threads, and the threads that sleep
 * (compute, reporter) are created last: the loader borrows the first thread (in
 * thread-id order, the main thread first) that is at a point it deems safe, so
 * the thread it borrows for its remote dlopen is usually a hammering one, the
 * dangerous choice this test is about. The scenario runs the target at nice 19
 * so that its busy threads leave the CPU to the hotpatch CLI. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MALLOC_THREADS 4
#define SLOTS 64

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

static unsigned long mallocs, dlopens;


static void *hammer_malloc(void *arg) {
  unsigned seed = (unsigned)(long)arg * 2654435761u;
  void *slot[SLOTS] = {0};
  for (unsigned long n = 1;; n++) {
    int i = rand_r(&seed) % SLOTS;
    free(slot[i]);
    int kind = rand_r(&seed) % 100;
    size_t size = kind < 70 ? 16 + rand_r(&seed) % 4096
                : kind < 95 ? 4096 + rand_r(&seed) % (100 << 10)
                            : (200 << 10) + rand_r(&seed) % (800 << 10); /* above the mmap threshold */
    char *p = malloc(size);
    if (!p) {
      printf("BAD malloc(%zu) failed\n", size);
      slot[i] = NULL;
      continue;
    }
    p[0] = 1;
    p[size - 1] = 2;
    slot[i] = p;
    __atomic_add_fetch(&mallocs, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void *hammer_dlopen(void *arg) {
  const char *path = arg;
  for (;;) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      printf("BAD dlopen(%s): %s\n", path, dlerror());
      usleep(10000);
      continue;
    }
    int (*answer)(int) = (int (*)(int))dlsym(h, "small_answer");
    if (!answer || answer(1) != 43) printf("BAD small_answer from %s\n", path);
    if (dlclose(h) != 0) printf("BAD dlclose(%s): %s\n", path, dlerror());
    __atomic_add_fetch(&dlopens, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void *call_compute(void *arg) {
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    usleep(1000);
  }
  return NULL;
}

static void *reporter(void *arg) {
  for (;;) {
    int r = compute(7);
    printf("compute(7)=%d mallocs=%lu dlopens=%lu\n", r, __atomic_load_n(&mallocs, __ATOMIC_RELAXED),
           __atomic_load_n(&dlopens, __ATOMIC_RELAXED));
    usleep(20000);
  }
  return arg;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 3) {
    fprintf(stderr, "usage: %s LIB1 LIB2\n", argv[0]);
    return 2;
  }
  pthread_t t;
  for (long i = 1; i < MALLOC_THREADS; i++) pthread_create(&t, NULL, hammer_malloc, (void *)(i + 1));
  pthread_create(&t, NULL, hammer_dlopen, argv[1]);
  pthread_create(&t, NULL, hammer_dlopen, argv[2]);
  pthread_create(&t, NULL, call_compute, NULL);
  pthread_create(&t, NULL, reporter, NULL);
  printf("ready pid=%d\n", (int)getpid());
  hammer_malloc((void *)1);
}
