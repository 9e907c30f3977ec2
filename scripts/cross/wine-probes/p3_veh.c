/* Probe 3 (#23): a vectored exception handler commits a PAGE_NOACCESS reserved page inside its
   known range and returns EXCEPTION_CONTINUE_EXECUTION: does the faulting instruction resume
   and read 0? A fault outside the range must go on (EXCEPTION_CONTINUE_SEARCH) to a second
   handler, or to the SetUnhandledExceptionFilter filter. */
#include "common.h"

#define PAGE 4096
static char *range_lo, *range_hi;   /* handler 1's range */
static char *other_lo, *other_hi;   /* handler 2's range */
static char *last_lo, *last_hi;     /* the unhandled filter's range */
static volatile LONG h1_fixed, h1_passed, h2_fixed, filter_fixed, ph_fixed;
static volatile ULONG_PTR last_rw, last_addr;
static volatile DWORD last_code, h1_thread;
static char *ph_lo, *ph_hi;         /* a placeholder range, replaced from inside handler 1 */

static int commit(char *lo, char *hi, ULONG_PTR a) {
  if (a < (ULONG_PTR)lo || a >= (ULONG_PTR)hi) return 0;
  void *page = (void *)(a & ~(ULONG_PTR)(PAGE - 1));
  return VirtualAlloc(page, PAGE, MEM_COMMIT, PAGE_READWRITE) != NULL;
}

static LONG CALLBACK h1(EXCEPTION_POINTERS *e) {
  EXCEPTION_RECORD *r = e->ExceptionRecord;
  if (r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) return EXCEPTION_CONTINUE_SEARCH;
  ULONG_PTR a = r->ExceptionInformation[1];
  last_code = r->ExceptionCode; last_rw = r->ExceptionInformation[0]; last_addr = a;
  h1_thread = GetCurrentThreadId();
  if (commit(range_lo, range_hi, a)) { h1_fixed++; return EXCEPTION_CONTINUE_EXECUTION; }
  if (pVirtualAlloc2 && a >= (ULONG_PTR)ph_lo && a < (ULONG_PTR)ph_hi) {
    if (pVirtualAlloc2(GetCurrentProcess(), ph_lo, ph_hi - ph_lo,
                       MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0)) {
      ph_fixed++;
      return EXCEPTION_CONTINUE_EXECUTION;
    }
  }
  h1_passed++;
  return EXCEPTION_CONTINUE_SEARCH;
}

static LONG CALLBACK h2(EXCEPTION_POINTERS *e) {
  EXCEPTION_RECORD *r = e->ExceptionRecord;
  if (r->ExceptionCode == EXCEPTION_ACCESS_VIOLATION && commit(other_lo, other_hi, r->ExceptionInformation[1])) {
    h2_fixed++;
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  return EXCEPTION_CONTINUE_SEARCH;
}

static LONG WINAPI filter(EXCEPTION_POINTERS *e) {
  EXCEPTION_RECORD *r = e->ExceptionRecord;
  if (r->ExceptionCode == EXCEPTION_ACCESS_VIOLATION && commit(last_lo, last_hi, r->ExceptionInformation[1])) {
    filter_fixed++;
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  printf("no unexpected exception 0x%08lx at %p reached the filter\n", (unsigned long)r->ExceptionCode,
         r->ExceptionAddress);
  ExitProcess(3);
}

static volatile int thread_read = -1;
static DWORD WINAPI worker(void *arg) {
  thread_read = *(volatile int *)arg;
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  resolve_all(0);
  char *base = VirtualAlloc(NULL, 16 * PAGE, MEM_RESERVE, PAGE_NOACCESS);
  check(base != NULL, "VirtualAlloc(MEM_RESERVE, PAGE_NOACCESS) of 16 pages");
  range_lo = base; range_hi = base + 8 * PAGE;
  other_lo = base + 8 * PAGE; other_hi = base + 12 * PAGE;
  last_lo = base + 12 * PAGE; last_hi = base + 16 * PAGE;
  check(AddVectoredExceptionHandler(1, h1) != NULL, "AddVectoredExceptionHandler(1, h1)");
  check(AddVectoredExceptionHandler(0, h2) != NULL, "AddVectoredExceptionHandler(0, h2)");
  SetUnhandledExceptionFilter(filter);

  int v = *(volatile int *)(range_lo + PAGE + 8);
  check(h1_fixed == 1 && v == 0, "read of a reserved page in h1's range: h1 commits it, the read resumes and gives 0");
  printf("info that fault: code=0x%08lx ExceptionInformation[0]=%lu (0 read, 1 write) [1]=%s\n",
         (unsigned long)last_code, (unsigned long)last_rw,
         last_addr == (ULONG_PTR)(range_lo + PAGE + 8) ? "the faulting address" : "another address");
  check(h1_thread == GetCurrentThreadId(), "h1 runs on the faulting thread");

  *(volatile int *)(range_lo + 3 * PAGE + 16) = 42;
  check(h1_fixed == 2 && *(volatile int *)(range_lo + 3 * PAGE + 16) == 42 && last_rw == 1,
        "write to a reserved page in h1's range: committed, the write resumes and sticks, [0]=1");

  HANDLE t = CreateThread(NULL, 0, worker, range_lo + 5 * PAGE, 0, NULL);
  WaitForSingleObject(t, 10000);
  check(h1_fixed == 3 && thread_read == 0, "read from a second thread: h1 commits, the thread reads 0");
  CloseHandle(t);

  LONG passed = h1_passed;
  v = *(volatile int *)(other_lo + 4);
  check(h1_passed == passed + 1 && h2_fixed == 1 && v == 0,
        "fault outside h1's range: h1 returns CONTINUE_SEARCH, h2 commits, the read resumes and gives 0");

  passed = h1_passed;
  v = *(volatile int *)(last_lo + 4);
  check(h1_passed == passed + 1 && h2_fixed == 1 && filter_fixed == 1 && v == 0,
        "fault outside both handlers' ranges: reaches SetUnhandledExceptionFilter, which commits and resumes");

  if (pVirtualAlloc2) {
    ph_lo = pVirtualAlloc2(GetCurrentProcess(), NULL, KIB64, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                           PAGE_NOACCESS, NULL, 0);
    if (!ph_lo) {
      no_err("placeholder for the in-handler replacement check");
    } else {
      ph_hi = ph_lo + KIB64;
      v = *(volatile int *)(ph_lo + 8);
      check(ph_fixed == 1 && v == 0, "read of a placeholder: h1 replaces it with VirtualAlloc2(MEM_REPLACE_PLACEHOLDER), resumes, 0");
    }
  }
  return 0;
}
