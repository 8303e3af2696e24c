/* token/login: C_Login, C_Logout and the PIN functions, with PINs checked by the TPM. */
#ifndef TPMTOK_LOGIN_H
#define TPMTOK_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "token/module.h"

CK_RV login_login(struct module *m, CK_SESSION_HANDLE h, CK_USER_TYPE user,
                  const uint8_t *pin, size_t pin_len);
CK_RV login_logout(struct module *m, CK_SESSION_HANDLE h);
CK_RV login_init_pin(struct module *m, CK_SESSION_HANDLE h, const uint8_t *pin, size_t pin_len);
CK_RV login_set_pin(struct module *m, CK_SESSION_HANDLE h, const uint8_t *old_pin,
                    size_t old_len, const uint8_t *new_pin, size_t new_len);

#endif
