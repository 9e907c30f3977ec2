/* Shared helpers for the wine probes (#23). Plain Win32, no external libs. */
#ifndef PROBE_COMMON_H
#define PROBE_COMMON_H
#include <windows.h>
#include <stdio.h>
#include <string.h>

#ifndef MEM_REPLACE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER 0x00004000
#endif
#ifndef MEM_RESERVE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER 0x00040000
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#define MEM_PRESERVE_PLACEHOLDER 0x00000002
#endif
#ifndef MEM_COALESCE_PLACEHOLDERS
#define MEM_COALESCE_PLACEHOLDERS 0x00000001
#endif
#ifndef ERROR_USER_MAPPED_FILE
#define ERROR_USER_MAPPED_FILE 1224
#endif

#define KIB64 ((SIZE_T)64 * 1024)

typedef PVOID(WINAPI *VirtualAlloc2_t)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef PVOID(WINAPI *MapViewOfFile3_t)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG,
                                        void *, ULONG);
typedef BOOL(WINAPI *UnmapViewOfFile2_t)(HANDLE, PVOID, ULONG);

static VirtualAlloc2_t pVirtualAlloc2;
static MapViewOfFile3_t pMapViewOfFile3;
static UnmapViewOfFile2_t pUnmapViewOfFile2;

static inline void ok(const char *what) { printf("ok %s\n", what); }
static inline void no(const char *what, const char *why) { printf("no %s: %s\n", what, why); }
static inline void no_err(const char *what) {
  char why[64];
  snprintf(why, sizeof why, "GetLastError=%lu", (unsigned long)GetLastError());
  no(what, why);
}
static inline void check(int cond, const char *what) {
  if (cond) ok(what); else no_err(what);
}

/* Resolve from kernelbase.dll first, then kernel32.dll; report where it was found. */
static inline FARPROC resolve(const char *name, int report) {
  const char *dlls[] = {"kernelbase.dll", "kernel32.dll"};
  FARPROC found = NULL;
  for (int i = 0; i < 2; i++) {
    HMODULE m = LoadLibraryA(dlls[i]);
    FARPROC f = m ? GetProcAddress(m, name) : NULL;
    if (report) {
      char what[128];
      snprintf(what, sizeof what, "export %s in %s", name, dlls[i]);
      if (f) ok(what); else no_err(what);
    }
    if (f && !found) found = f;
  }
  return found;
}

static inline int resolve_all(int report) {
  pVirtualAlloc2 = (VirtualAlloc2_t)resolve("VirtualAlloc2", report);
  pMapViewOfFile3 = (MapViewOfFile3_t)resolve("MapViewOfFile3", report);
  pUnmapViewOfFile2 = (UnmapViewOfFile2_t)resolve("UnmapViewOfFile2", report);
  return pVirtualAlloc2 && pMapViewOfFile3 && pUnmapViewOfFile2;
}

/* A real temp file of `size` bytes filled with `fill`; path returned in `path`. */
static inline HANDLE make_temp_file(char *path, DWORD size, unsigned char fill) {
  char dir[MAX_PATH];
  GetTempPathA(MAX_PATH, dir);
  if (!GetTempFileNameA(dir, "prb", 0, path)) return INVALID_HANDLE_VALUE;
  HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (f == INVALID_HANDLE_VALUE) return f;
  static unsigned char buf[65536];
  memset(buf, fill, sizeof buf);
  for (DWORD done = 0; done < size;) {
    DWORD n = size - done < sizeof buf ? size - done : sizeof buf, w = 0;
    if (!WriteFile(f, buf, n, &w, NULL) || w != n) { CloseHandle(f); return INVALID_HANDLE_VALUE; }
    done += n;
  }
  return f;
}

/* Read `n` bytes at `off` from the file through the file handle (not the view). */
static inline int read_file_at(HANDLE f, DWORD off, void *out, DWORD n) {
  OVERLAPPED ov = {0};
  ov.Offset = off;
  DWORD r = 0;
  return ReadFile(f, out, n, &r, &ov) && r == n;
}

static inline const char *state_name(DWORD s) {
  return s == MEM_COMMIT ? "MEM_COMMIT" : s == MEM_RESERVE ? "MEM_RESERVE" : s == MEM_FREE ? "MEM_FREE" : "?";
}
static inline const char *type_name(DWORD t) {
  return t == MEM_PRIVATE ? "MEM_PRIVATE" : t == MEM_MAPPED ? "MEM_MAPPED" : t == MEM_IMAGE ? "MEM_IMAGE" : t == 0 ? "0" : "?";
}
/* Print one informational line describing the region at p (not a check). */
static inline void describe(const char *label, void *p) {
  MEMORY_BASIC_INFORMATION mbi;
  if (VirtualQuery(p, &mbi, sizeof mbi))
    printf("info %s: VirtualQuery base=%p size=0x%llx state=%s type=%s protect=0x%lx\n", label,
           mbi.BaseAddress, (unsigned long long)mbi.RegionSize, state_name(mbi.State),
           type_name(mbi.Type), (unsigned long)mbi.Protect);
  else
    printf("info %s: VirtualQuery failed GetLastError=%lu\n", label, (unsigned long)GetLastError());
}
#endif
