#include "common/err.h"

const char *slate_strerror(int code)
{
    switch (code) {
#define SLATE_ERR_MSG(name, value, msg)                                                   \
    case value:                                                                           \
        return msg;
        SLATE_ERR_LIST(SLATE_ERR_MSG)
#undef SLATE_ERR_MSG
    }
    return "unknown error";
}

const char *slate_errname(int code)
{
    switch (code) {
#define SLATE_ERR_NAME(name, value, msg)                                                  \
    case value:                                                                           \
        return #name;
        SLATE_ERR_LIST(SLATE_ERR_NAME)
#undef SLATE_ERR_NAME
    }
    return "SLATE_ERR_UNKNOWN";
}
