/* Names for CK_RV values. */
#ifndef TPMTOK_RV_H
#define TPMTOK_RV_H

#include "p11.h"

/* The CKR_ name of rv, or "CKR_(unknown)"; never NULL. */
const char *rv_name(CK_RV rv);

#endif
