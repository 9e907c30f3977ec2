/* Probe 1 (#23): placeholders. VirtualAlloc2 reserves a 4 x 64 KiB placeholder, VirtualFree
   with MEM_PRESERVE_PLACEHOLDER splits it, MapViewOfFile3 with MEM_REPLACE_PLACEHOLDER maps a
   real temp file into one part, and bytes go both ways between the view and the file. */
#include "common.h"

/* Without placeholders: what of the same three functions works at all? */
static int fallback(HANDLE self) {
  void *p = pVirtualAlloc2(self, NULL, 4 * KIB64, MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
  check(p != NULL, "VirtualAlloc2(MEM_RESERVE_PLACEHOLDER alone, PAGE_NOACCESS)");
  p = pVirtualAlloc2(self, NULL, 4 * KIB64, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
  check(p != NULL, "VirtualAlloc2(MEM_RESERVE|MEM_RESERVE_PLACEHOLDER, PAGE_READWRITE)");
  char *plain = pVirtualAlloc2(self, NULL, 4 * KIB64, MEM_RESERVE, PAGE_NOACCESS, NULL, 0);
  check(plain != NULL, "VirtualAlloc2(MEM_RESERVE, PAGE_NOACCESS), no placeholder");
  char *rw = pVirtualAlloc2(self, NULL, KIB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, NULL, 0);
  check(rw != NULL && rw[5] == 0, "VirtualAlloc2(MEM_RESERVE|MEM_COMMIT, PAGE_READWRITE), reads 0");
  if (plain) {
    check(VirtualFree(plain, KIB64, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER),
          "VirtualFree(MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER) of part of a plain reservation");
    check(pVirtualAlloc2(self, plain + KIB64, KIB64, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                         PAGE_READWRITE, NULL, 0) != NULL,
          "VirtualAlloc2(MEM_REPLACE_PLACEHOLDER) into a plain reservation");
  }
  char path[MAX_PATH];
  HANDLE f = make_temp_file(path, (DWORD)KIB64, 'A');
  HANDLE map = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, (DWORD)KIB64, NULL);
  check(map != NULL, "CreateFileMapping(PAGE_READWRITE) of a 64 KiB temp file");
  char *v = pMapViewOfFile3(map, self, NULL, 0, KIB64, 0, PAGE_READWRITE, NULL, 0);
  check(v != NULL && v[0] == 'A', "MapViewOfFile3 without a placeholder (BaseAddress NULL), reads the file");
  if (v) {
    v[1] = 'B';
    char got = 0;
    check(FlushViewOfFile(v, KIB64) && read_file_at(f, 1, &got, 1) && got == 'B',
          "a byte written through that view is in the file");
    if (pUnmapViewOfFile2(self, v, MEM_PRESERVE_PLACEHOLDER)) {
      MEMORY_BASIC_INFORMATION mbi;
      VirtualQuery(v, &mbi, sizeof mbi);
      char why[96];
      snprintf(why, sizeof why, "it succeeded; the range is now %s", state_name(mbi.State));
      no("UnmapViewOfFile2(MEM_PRESERVE_PLACEHOLDER) of a view not in a placeholder is refused", why);
    } else {
      printf("ok UnmapViewOfFile2(MEM_PRESERVE_PLACEHOLDER) of a view not in a placeholder is refused (GetLastError=%lu)\n",
             (unsigned long)GetLastError());
      pUnmapViewOfFile2(self, v, 0);
    }
    char *v2 = pMapViewOfFile3(map, self, NULL, 0, KIB64, 0, PAGE_READWRITE, NULL, 0);
    check(v2 && pUnmapViewOfFile2(self, v2, 0), "UnmapViewOfFile2(flags 0) of a second view");
  }
  CloseHandle(map);
  CloseHandle(f);
  DeleteFileA(path);
  return 1;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!resolve_all(1)) { no("placeholder API", "an export is missing, stopping"); return 1; }
  HANDLE self = GetCurrentProcess();

  char *base = pVirtualAlloc2(self, NULL, 4 * KIB64, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                              PAGE_NOACCESS, NULL, 0);
  check(base != NULL, "VirtualAlloc2(MEM_RESERVE|MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS) of 4 x 64 KiB");
  if (!base) return fallback(self);
  describe("placeholder", base);

  /* A view that is smaller than the placeholder it replaces: Windows refuses (the view must
     cover the whole placeholder). */
  char path[MAX_PATH];
  HANDLE f = make_temp_file(path, (DWORD)KIB64, 'A');
  check(f != INVALID_HANDLE_VALUE, "temp file of 64 KiB filled with 'A'");
  HANDLE map = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, (DWORD)KIB64, NULL);
  check(map != NULL, "CreateFileMapping(PAGE_READWRITE) of the temp file");
  if (!map) return 1;
  void *early = pMapViewOfFile3(map, self, base, 0, KIB64, MEM_REPLACE_PLACEHOLDER,
                                PAGE_READWRITE, NULL, 0);
  if (early) {
    no("MapViewOfFile3 of 64 KiB into the unsplit 256 KiB placeholder is refused", "it succeeded");
    pUnmapViewOfFile2(self, early, MEM_PRESERVE_PLACEHOLDER);
  } else {
    char why[64];
    snprintf(why, sizeof why, "refused, GetLastError=%lu", (unsigned long)GetLastError());
    printf("ok MapViewOfFile3 of 64 KiB into the unsplit 256 KiB placeholder is refused (%s)\n", why);
  }

  /* Split into four placeholders: release the first 3 parts one by one from the front. */
  int split = 1;
  for (int i = 0; i < 3; i++)
    if (!VirtualFree(base + i * KIB64, KIB64, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)) split = 0;
  check(split, "VirtualFree(MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER) splits it into 4 x 64 KiB");
  describe("part 1 after split", base + KIB64);
  MEMORY_BASIC_INFORMATION mbi;
  VirtualQuery(base + KIB64, &mbi, sizeof mbi);
  check(mbi.RegionSize == KIB64 && mbi.State == MEM_RESERVE,
        "VirtualQuery sees part 1 as its own 64 KiB reserved region");

  char *view = pMapViewOfFile3(map, self, base + KIB64, 0, KIB64, MEM_REPLACE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0);
  check(view != NULL, "MapViewOfFile3(MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE) into part 1");
  if (!view) return 1;
  check(view == base + KIB64, "the view lands at the placeholder's address");
  describe("view", view);
  VirtualQuery(view, &mbi, sizeof mbi);
  check(mbi.Type == MEM_MAPPED && mbi.State == MEM_COMMIT, "VirtualQuery sees the view as MEM_MAPPED, MEM_COMMIT");

  int all_a = 1;
  for (SIZE_T i = 0; i < KIB64; i++) if (view[i] != 'A') { all_a = 0; break; }
  check(all_a, "read through the view sees the file's bytes ('A')");

  memcpy(view + 100, "hello-view", 10);
  view[KIB64 - 1] = 'Z';
  check(FlushViewOfFile(view, KIB64), "FlushViewOfFile");
  char got[16] = {0};
  int r1 = read_file_at(f, 100, got, 10) && memcmp(got, "hello-view", 10) == 0;
  char last = 0;
  int r2 = read_file_at(f, (DWORD)KIB64 - 1, &last, 1) && last == 'Z';
  check(r1 && r2, "bytes written through the view are in the file (ReadFile)");

  DWORD w = 0;
  OVERLAPPED ov = {0};
  ov.Offset = 200;
  int wf = WriteFile(f, "from-file", 9, &w, &ov) && w == 9;
  check(wf && memcmp(view + 200, "from-file", 9) == 0, "bytes written with WriteFile are seen through the view");

  /* The neighbouring parts are still placeholders: a second view fits into part 2. */
  char *view2 = pMapViewOfFile3(map, self, base + 2 * KIB64, 0, KIB64, MEM_REPLACE_PLACEHOLDER,
                                PAGE_READONLY, NULL, 0);
  check(view2 == base + 2 * KIB64 && view2[100] == 'h', "a second view of the same file into part 2 sees the same bytes");

  /* A plain MEM_RESERVE region (not a placeholder) cannot take a view. */
  void *plain = VirtualAlloc(NULL, KIB64, MEM_RESERVE, PAGE_NOACCESS);
  void *bad = pMapViewOfFile3(map, self, plain, 0, KIB64, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
  if (bad) no("MapViewOfFile3(MEM_REPLACE_PLACEHOLDER) over a plain reservation is refused", "it succeeded");
  else printf("ok MapViewOfFile3(MEM_REPLACE_PLACEHOLDER) over a plain reservation is refused (GetLastError=%lu)\n",
              (unsigned long)GetLastError());

  if (view2) pUnmapViewOfFile2(self, view2, 0);
  UnmapViewOfFile(view);
  CloseHandle(map);
  CloseHandle(f);
  check(DeleteFileA(path), "DeleteFile of the temp file at the end");
  return 0;
}
