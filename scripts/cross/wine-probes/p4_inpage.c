/* Probe 4 (#23): in-page errors. Part A: SetEndOfFile from inside Windows on a mapped file
   (Windows refuses a shrink with ERROR_USER_MAPPED_FILE). Part B: a view of a file that the
   HOST truncates (run.sh runs Linux `truncate -s 0`): which exception reaches a vectored
   handler when the view is touched, and with what ExceptionInformation[0..2]?
   Usage: p4_inpage.exe <Windows path of a work directory>. The probe writes
   <dir>\p4.ready (holding the data file's path) and waits for <dir>\p4.go. */
#include "common.h"

#define PAGE 4096
#define VIEW (64 * PAGE)

static char *view_lo, *view_hi;
static volatile int armed;
static volatile LONG hits;
static volatile DWORD got_code, got_n;
static volatile ULONG_PTR got_info[3];
static int safe[16];

static LONG CALLBACK handler(EXCEPTION_POINTERS *e) {
  EXCEPTION_RECORD *r = e->ExceptionRecord;
  if (!armed) return EXCEPTION_CONTINUE_SEARCH;
  ULONG_PTR a = r->NumberParameters >= 2 ? r->ExceptionInformation[1] : 0;
  got_code = r->ExceptionCode;
  got_n = r->NumberParameters;
  for (int i = 0; i < 3; i++) got_info[i] = i < (int)r->NumberParameters ? r->ExceptionInformation[i] : 0;
  hits++;
  /* The touch functions below address memory through rcx only: point it at a safe buffer and
     let the faulting instruction run again. */
  if (a >= (ULONG_PTR)view_lo && a < (ULONG_PTR)view_hi &&
      e->ContextRecord->Rcx >= (DWORD64)view_lo && e->ContextRecord->Rcx < (DWORD64)view_hi) {
    e->ContextRecord->Rcx = (DWORD64)(ULONG_PTR)safe;
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  return EXCEPTION_CONTINUE_SEARCH;
}

static int __attribute__((noinline)) touch_read(char *p) {
  int v;
  __asm__ volatile("movl (%%rcx), %0" : "=r"(v) : "c"(p) : "memory");
  return v;
}
static void __attribute__((noinline)) touch_write(char *p, int v) {
  __asm__ volatile("movl %1, (%%rcx)" : : "c"(p), "r"(v) : "memory");
}

static void report(const char *what, int value) {
  if (hits == 0) {
    printf("no %s: no exception, the access gave 0x%08x\n", what, (unsigned)value);
    return;
  }
  const char *name = got_code == EXCEPTION_IN_PAGE_ERROR ? "EXCEPTION_IN_PAGE_ERROR"
                     : got_code == EXCEPTION_ACCESS_VIOLATION ? "EXCEPTION_ACCESS_VIOLATION" : "other";
  printf("ok %s: code=0x%08lx (%s) NumberParameters=%lu [0]=%llu [1]=%s [2]=0x%08llx\n", what,
         (unsigned long)got_code, name, (unsigned long)got_n, (unsigned long long)got_info[0],
         got_info[1] >= (ULONG_PTR)view_lo && got_info[1] < (ULONG_PTR)view_hi ? "in the view" : "elsewhere",
         (unsigned long long)got_info[2]);
}

static LONG WINAPI last_chance(EXCEPTION_POINTERS *e) {
  printf("no unhandled exception 0x%08lx reached the filter\n", (unsigned long)e->ExceptionRecord->ExceptionCode);
  ExitProcess(3);
}

static void part_a(void) {
  char path[MAX_PATH];
  HANDLE f = make_temp_file(path, 4 * PAGE, 'A');
  HANDLE map = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 4 * PAGE, NULL);
  char *v = map ? MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 4 * PAGE) : NULL;
  check(v && v[0] == 'A', "A: 16 KiB temp file mapped PAGE_READWRITE");
  if (!v) return;
  SetFilePointer(f, 0, NULL, FILE_BEGIN);
  if (SetEndOfFile(f)) printf("no A: SetEndOfFile to 0 of a mapped file is refused: it succeeded, size now %lu\n",
                              (unsigned long)GetFileSize(f, NULL));
  else printf("ok A: SetEndOfFile to 0 of a mapped file is refused (GetLastError=%lu)\n", (unsigned long)GetLastError());
  SetFilePointer(f, PAGE, NULL, FILE_BEGIN);
  if (SetEndOfFile(f)) printf("no A: SetEndOfFile to 4 KiB (inside the view) is refused: it succeeded\n");
  else printf("ok A: SetEndOfFile to 4 KiB (inside the view) is refused (GetLastError=%lu)\n", (unsigned long)GetLastError());
  SetFilePointer(f, 8 * PAGE, NULL, FILE_BEGIN);
  check(SetEndOfFile(f) && GetFileSize(f, NULL) == 8 * PAGE, "A: SetEndOfFile to 32 KiB (growing) of a mapped file");
  check(v[0] == 'A' && v[4 * PAGE - 1] == 'A', "A: the view still reads the file after the growth");
  UnmapViewOfFile(v);
  SetFilePointer(f, 0, NULL, FILE_BEGIN);
  if (SetEndOfFile(f)) printf("info A: after UnmapViewOfFile (mapping handle open) SetEndOfFile to 0 succeeds\n");
  else printf("info A: after UnmapViewOfFile (mapping handle open) SetEndOfFile to 0 fails, GetLastError=%lu\n",
              (unsigned long)GetLastError());
  CloseHandle(map);
  SetFilePointer(f, 0, NULL, FILE_BEGIN);
  check(SetEndOfFile(f), "A: SetEndOfFile to 0 after CloseHandle(mapping)");
  CloseHandle(f);
  DeleteFileA(path);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  SetUnhandledExceptionFilter(last_chance);
  for (int i = 0; i < 16; i++) safe[i] = 0x5a5a5a5a;
  part_a();
  if (argc < 2) { no("B: host truncation", "no work directory given"); return 1; }

  char path[MAX_PATH], ready[MAX_PATH], go[MAX_PATH];
  snprintf(path, sizeof path, "%s\\p4.dat", argv[1]);
  snprintf(ready, sizeof ready, "%s\\p4.ready", argv[1]);
  snprintf(go, sizeof go, "%s\\p4.go", argv[1]);
  DeleteFileA(go);
  HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  static char fill[VIEW];
  memset(fill, 'A', sizeof fill);
  DWORD w = 0;
  check(f != INVALID_HANDLE_VALUE && WriteFile(f, fill, VIEW, &w, NULL) && w == VIEW, "B: 256 KiB data file written");
  HANDLE map = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, VIEW, NULL);
  view_lo = map ? MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, VIEW) : NULL;
  check(view_lo != NULL, "B: MapViewOfFile(FILE_MAP_WRITE) of it");
  if (!view_lo) return 1;
  view_hi = view_lo + VIEW;
  check(AddVectoredExceptionHandler(1, handler) != NULL, "B: AddVectoredExceptionHandler");
  /* Pages 0 and 1 are made resident before the truncation, 2 and 3 are not. */
  int v0 = touch_read(view_lo);
  touch_write(view_lo + PAGE, 0x42424242);
  check(v0 == 0x41414141 && hits == 0, "B: pages 0 (read) and 1 (written) touched before the truncation");

  HANDLE rf = CreateFileA(ready, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  WriteFile(rf, path, (DWORD)strlen(path), &w, NULL);
  CloseHandle(rf);
  int waited = 0;
  while (GetFileAttributesA(go) == INVALID_FILE_ATTRIBUTES && waited < 600) { Sleep(100); waited++; }
  if (waited >= 600) { no("B: host truncation", "p4.go did not appear within 60 s"); return 1; }
  printf("info B: after the host truncation GetFileSize=%lu\n", (unsigned long)GetFileSize(f, NULL));

  armed = 1;
  hits = 0; int r = touch_read(view_lo);            report("B: read of resident page 0 after host truncation", r);
  hits = 0; r = touch_read(view_lo + 2 * PAGE);     report("B: read of never-touched page 2 after host truncation", r);
  hits = 0; touch_write(view_lo + PAGE, 7);         report("B: write to resident page 1 after host truncation", 0);
  hits = 0; touch_write(view_lo + 3 * PAGE, 7);     report("B: write to never-touched page 3 after host truncation", 0);
  hits = 0; r = touch_read(view_lo + 2 * PAGE);     report("B: second read of page 2 (same fault again?)", r);
  armed = 0;

  check(UnmapViewOfFile(view_lo), "B: UnmapViewOfFile of the truncated view");
  CloseHandle(map);
  CloseHandle(f);
  check(DeleteFileA(path), "B: DeleteFile of the data file");
  return 0;
}
