/*
 * tpmtok export: a public key (rebuilt from the token's attributes by pkey.c) or a certificate,
 * as PEM or as an OpenSSH public key line.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "objects.h"
#include "pkey.h"

/* The PEM text of the key or certificate, malloc'ed; NULL (said) if OpenSSL fails. */
static char *pem_text(EVP_PKEY *pkey, X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *text = NULL;
    long n;

    if (bio != NULL && (cert != NULL ? PEM_write_bio_X509(bio, cert)
                                     : PEM_write_bio_PUBKEY(bio, pkey)) == 1 &&
        (n = BIO_get_mem_data(bio, &data)) > 0 && (text = malloc((size_t)n + 1)) != NULL) {
        memcpy(text, data, (size_t)n);
        text[n] = '\0';
    }
    BIO_free(bio);
    if (text == NULL)
        errorf("export: OpenSSL cannot write the PEM");
    return text;
}

/*
 * The object export writes: of the named objects, a public key first, then a certificate;
 * a private key stands for the public key with its id. NULL if none (said).
 */
static const struct objref *export_choice(const struct objrefs *objs, const char *name)
{
    static const CK_OBJECT_CLASS order[] = { CKO_PUBLIC_KEY, CKO_CERTIFICATE, CKO_PRIVATE_KEY };

    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (size_t i = 0; i < objs->n; i++)
            if (objs->v[i].class == order[k])
                return &objs->v[i];
    errorf("export: \"%s\" names no public key, private key or certificate", name);
    return NULL;
}

/* The public key object with the private key's id, if the token has one. */
static int public_half(struct tool *t, CK_SESSION_HANDLE s, const struct objref *priv,
                       struct objrefs *found)
{
    CK_OBJECT_CLASS class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &class, sizeof class },
                            { CKA_ID, priv->id, priv->id_len } };

    memset(found, 0, sizeof *found);
    if (priv->id_len == 0)
        return EXIT_OK;
    return objects_find_template(t, s, tmpl, 2, found);
}

/* The key or certificate of the chosen object. EXIT_OK, or what failed (said). */
static int export_material(struct tool *t, CK_SESSION_HANDLE s, const struct objref *o,
                           EVP_PKEY **pkey, X509 **cert)
{
    struct objrefs pub = { 0 };
    const unsigned char *p;
    uint8_t *der = NULL;
    size_t len = 0;
    int ret;

    if (o->class == CKO_CERTIFICATE) {
        if ((ret = attr_read(t, s, o->h, CKA_VALUE, &der, &len)) == EXIT_OK) {
            p = der;
            if ((*cert = d2i_X509(NULL, &p, (long)len)) == NULL) {
                errorf("export: the certificate's CKA_VALUE is not DER that OpenSSL reads");
                ret = EXIT_FILE;
            }
        }
        free(der);
        return ret == EXIT_NOT_FOUND ? EXIT_PKCS11 : ret;
    }
    /* A private key's public half is its own object; the private key object may say it too. */
    if (o->class == CKO_PRIVATE_KEY && (ret = public_half(t, s, o, &pub)) != EXIT_OK)
        return ret;
    ret = pkey_from_object(t, s, pub.n > 0 ? pub.v[0].h : o->h, o->subtype, pkey);
    objects_free(&pub);
    if (ret == EXIT_NOT_FOUND)
        errorf("export: the object has no public key the CLI can read (RSA or EC)");
    return ret;
}

static char *comment_of(const struct objref *o)
{
    char *c = malloc(o->label_len + 1);

    if (c != NULL) {
        memcpy(c, o->label != NULL ? (char *)o->label : "", o->label_len);
        c[o->label_len] = '\0';
        /* A comment ends at the line; keep it one word-ish line. */
        for (size_t i = 0; i < o->label_len; i++)
            if (c[i] == '\n' || c[i] == '\r' || c[i] == '\0')
                c[i] = ' ';
    }
    return c;
}

static int export_write(const struct opts *o, const struct objref *obj, EVP_PKEY *pkey,
                        X509 *cert)
{
    bool ssh = o->format != NULL && strcmp(o->format, "ssh") == 0;
    char *text = NULL, *comment = NULL;
    int ret = EXIT_FILE;

    if (ssh) {
        if ((comment = comment_of(obj)) != NULL)
            text = pkey_ssh_line(cert != NULL ? X509_get0_pubkey(cert) : pkey, comment);
    } else {
        text = pem_text(pkey, cert);
    }
    if (text != NULL)
        ret = file_write(o->out, text);
    free(text);
    free(comment);
    return ret;
}

int cmd_export(struct tool *t, const struct opts *o)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    struct objrefs objs = { 0 };
    const struct objref *obj;
    struct token tok;
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    int ret;

    if (o->format != NULL && strcmp(o->format, "pem") != 0 && strcmp(o->format, "ssh") != 0) {
        errorf("export: --format is pem or ssh");
        return EXIT_USAGE;
    }
    if ((ret = token_select(t, o->token, o->arg, &tok)) != EXIT_OK)
        return ret;
    if (pin_given(o->pin, o->pin_file))
        ret = session_open_login(t, &tok, false, o->pin, o->pin_file, &s);
    else
        ret = session_open(t, &tok, false, &s);
    if (ret != EXIT_OK)
        return ret;
    if ((ret = objects_find(t, s, o->arg, &objs)) != EXIT_OK)
        goto out;
    if (objs.n == 0) {
        errorf("export: no object \"%s\" on token \"%s\"%s", o->arg, tok.label,
               pin_given(o->pin, o->pin_file) ? "" : " (without a PIN, private ones are hidden)");
        ret = EXIT_NOT_FOUND;
        goto out;
    }
    if ((obj = export_choice(&objs, o->arg)) == NULL) {
        ret = EXIT_NOT_FOUND;
        goto out;
    }
    if ((ret = export_material(t, s, obj, &pkey, &cert)) == EXIT_OK)
        ret = export_write(o, obj, pkey, cert);
out:
    EVP_PKEY_free(pkey);
    X509_free(cert);
    objects_free(&objs);
    t->f->C_CloseSession(s);
    return ret;
}
