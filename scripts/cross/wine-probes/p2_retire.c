/* Probe 2 (#23): retire a view. UnmapViewOfFile2(MEM_PRESERVE_PLACEHOLDER) then
   VirtualAlloc2(MEM_RESERVE|MEM_COMMIT|MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE) over the same
   range: does it read zeros, and is the file released (SetEndOfFile shrinks it, DeleteFile
   removes it after the mapping and file handles are closed)? When placeholders are missing,
   the same questions for the racy fallback: UnmapViewOfFile then VirtualAlloc at the address. */
#include "common.h"

#define SIZE (2 * KIB64)

static void after_retire(const char *how, char *addr, HANDLE f, HANDLE map, const char *path) {
  char what[200];
  describe(how, addr);
  int zeros = 1;
  for (SIZE_T i = 0; i < SIZE; i++) if (addr[i] != 0) { zeros = 0; break; }
  snprintf(what, sizeof what, "%s: the range reads zeros", how);
  check(zeros, what);
  memset(addr, 'X', SIZE);
  char got = 0;
  snprintf(what, sizeof what, "%s: writes to the range do not reach the file", how);
  check(read_file_at(f, 10, &got, 1) && got == 'A', what);

  /* Shrink with the mapping handle still open (no view left). */
  SetFilePointer(f, (LONG)KIB64, NULL, FILE_BEGIN);
  snprintf(what, sizeof what, "%s: SetEndOfFile shrinks the file to 64 KiB, mapping handle still open", how);
  check(SetEndOfFile(f), what);
  CloseHandle(map);
  SetFilePointer(f, 0, NULL, FILE_BEGIN);
  snprintf(what, sizeof what, "%s: SetEndOfFile shrinks the file to 0 after CloseHandle(mapping)", how);
  check(SetEndOfFile(f) && GetFileSize(f, NULL) == 0, what);
  CloseHandle(f);
  snprintf(what, sizeof what, "%s: DeleteFile after CloseHandle of mapping and file", how);
  check(DeleteFileA(path), what);
  snprintf(what, sizeof what, "%s: the file is gone", how);
  check(GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES, what);
}

static int setup(char *path, HANDLE *f, HANDLE *map) {
  *f = make_temp_file(path, (DWORD)SIZE, 'A');
  if (*f == INVALID_HANDLE_VALUE) { no_err("temp file"); return 0; }
  *map = CreateFileMappingA(*f, NULL, PAGE_READWRITE, 0, (DWORD)SIZE, NULL);
  if (!*map) { no_err("CreateFileMapping"); return 0; }
  return 1;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!resolve_all(0)) { no("placeholder API", "an export is missing, stopping"); return 1; }
  HANDLE self = GetCurrentProcess();
  char path[MAX_PATH];
  HANDLE f, map;

  /* Control: a live view blocks truncation (Windows: ERROR_USER_MAPPED_FILE). */
  if (!setup(path, &f, &map)) return 1;
  char *v = MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, SIZE);
  SetFilePointer(f, 0, NULL, FILE_BEGIN);
  if (SetEndOfFile(f)) no("control: SetEndOfFile to 0 is refused while a view is mapped", "it succeeded");
  else printf("ok control: SetEndOfFile to 0 is refused while a view is mapped (GetLastError=%lu)\n",
              (unsigned long)GetLastError());
  UnmapViewOfFile(v);
  CloseHandle(map);
  CloseHandle(f);
  DeleteFileA(path);

  /* The placeholder path, as on Windows 10 1803+. */
  if (!setup(path, &f, &map)) return 1;
  char *ph = pVirtualAlloc2(self, NULL, SIZE, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
  check(ph != NULL, "placeholder: VirtualAlloc2(MEM_RESERVE|MEM_RESERVE_PLACEHOLDER) of 128 KiB");
  if (ph) {
    v = pMapViewOfFile3(map, self, ph, 0, SIZE, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
    check(v == ph && v[0] == 'A', "placeholder: MapViewOfFile3(MEM_REPLACE_PLACEHOLDER) reads the file");
    check(pUnmapViewOfFile2(self, v, MEM_PRESERVE_PLACEHOLDER), "placeholder: UnmapViewOfFile2(MEM_PRESERVE_PLACEHOLDER)");
    describe("placeholder after UnmapViewOfFile2", ph);
    char *z = pVirtualAlloc2(self, ph, SIZE, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                             PAGE_READWRITE, NULL, 0);
    check(z == ph, "placeholder: VirtualAlloc2(MEM_RESERVE|MEM_COMMIT|MEM_REPLACE_PLACEHOLDER) at the same address");
    if (z == ph) after_retire("placeholder", z, f, map, path);
  } else {
    /* What the retirement's two calls do on an ordinary view. */
    v = pMapViewOfFile3(map, self, NULL, 0, SIZE, 0, PAGE_READWRITE, NULL, 0);
    check(v && v[0] == 'A', "no placeholder: MapViewOfFile3 of an ordinary view reads the file");
    int r = pUnmapViewOfFile2(self, v, MEM_PRESERVE_PLACEHOLDER);
    MEMORY_BASIC_INFORMATION mbi;
    VirtualQuery(v, &mbi, sizeof mbi);
    printf("info no placeholder: UnmapViewOfFile2(MEM_PRESERVE_PLACEHOLDER) returned %d, GetLastError=%lu, range now %s\n",
           r, (unsigned long)(r ? 0 : GetLastError()), state_name(mbi.State));
    char *z = pVirtualAlloc2(self, v, SIZE, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                             PAGE_READWRITE, NULL, 0);
    check(z == v, "no placeholder: VirtualAlloc2(MEM_RESERVE|MEM_COMMIT|MEM_REPLACE_PLACEHOLDER) at the same address");
    if (!z) {
      z = pVirtualAlloc2(self, v, SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, NULL, 0);
      check(z == v, "no placeholder: VirtualAlloc2(MEM_RESERVE|MEM_COMMIT) at the freed address");
    }
    if (z == v) after_retire("no placeholder", z, f, map, path);
    else { CloseHandle(map); CloseHandle(f); DeleteFileA(path); }
  }

  /* The fallback wine can run: UnmapViewOfFile, then VirtualAlloc at the same address (on
     real Windows another thread may take the address in between). */
  if (!setup(path, &f, &map)) return 1;
  v = MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, SIZE);
  check(v && v[0] == 'A', "fallback: MapViewOfFile reads the file");
  check(UnmapViewOfFile(v), "fallback: UnmapViewOfFile");
  char *z = VirtualAlloc(v, SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  check(z == v, "fallback: VirtualAlloc(MEM_RESERVE|MEM_COMMIT) at the view's old address");
  if (z == v) after_retire("fallback", z, f, map, path);
  return 0;
}
