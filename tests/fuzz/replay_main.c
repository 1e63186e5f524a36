/*
 * Replays a libFuzzer corpus through LLVMFuzzerTestOneInput without libFuzzer,
 * so a gcc build under ASan/UBSan runs every harness over its committed
 * corpus in ctest. Arguments are files or directories (read one level deep).
 * Exits non-zero if no input was found; a crash fails the test by itself.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest input a corpus file may have; larger ones are a corpus error. */
#define REPLAY_MAX_BYTES (8u * 1024u * 1024u)

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_BYTES);
    if (buf == NULL) {
        fclose(fp);
        return -1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_BYTES, fp);
    fclose(fp);
    /* Copy to an exact-size allocation so ASan catches reads past the end. */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += run_file(argv[i]) != 0;
            ran++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (dir == NULL) {
            perror(argv[i]);
            failed++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            failed += run_file(path) != 0;
            ran++;
        }
        closedir(dir);
    }
    printf("replayed %d inputs, %d unreadable\n", ran, failed);
    return (ran == 0 || failed) ? 1 : 0;
}
