/*
 * The fuzz targets without libFuzzer: feeds every file named on the command line (or found in
 * a directory named there) to LLVMFuzzerTestOneInput once, so the corpora are regression
 * tests in every build. Arguments starting with '-' (libFuzzer options) are ignored.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

static int run_file(const char *path, unsigned long *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long len;
    int rc = 1;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out;
    /* One byte more, so an empty input still has a valid pointer. */
    if ((data = malloc((size_t)len + 1)) == NULL ||
        (len > 0 && fread(data, 1, (size_t)len, f) != (size_t)len))
        goto out;
    LLVMFuzzerTestOneInput(data, (size_t)len);
    (*count)++;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "%s: cannot read\n", path);
    free(data);
    if (f != NULL)
        fclose(f);
    return rc;
}

static int run_dir(const char *dir, unsigned long *count)
{
    struct dirent **names;
    int n, rc = 0;

    if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
        fprintf(stderr, "%s: cannot list\n", dir);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (names[i]->d_name[0] != '.' &&
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) < (int)sizeof path)
            rc |= run_file(path, count);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    struct stat st;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc |= run_dir(argv[i], &count);
        else
            rc |= run_file(argv[i], &count);
    }
    printf("%s: %lu inputs run\n", argv[0], count);
    return rc;
}
