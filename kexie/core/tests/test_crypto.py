"""PI-06: field encryption (AES-256-GCM, key id stored), blind indexes and key rotation."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from kexie.accounts.models import User
from kexie.accounts.pii import user_find_by_phone, user_set_phone
from kexie.core import crypto
from kexie.core.crypto import DecryptionError, blind_index, decrypt, encrypt
from kexie.core.models import AuditEvent

PHONE = "13900001234"  # synthetic
OLD_KEY = "t1:dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy0wMDA="  # the test settings' key
NEW_KEY = "t2:" + base64.urlsafe_b64encode(b"rotated-field-key-32-bytes-long!").decode()
PHONE_AAD = "accounts.user.phone"


def raw_phone(user: User) -> str:
    """The stored column, without the field's decryption."""
    return (
        User.objects.annotate(raw=Cast("phone", TextField()))
        .values_list("raw", flat=True)
        .get(pk=user.pk)
    )


def write_raw_phone(user: User, token: str) -> None:
    # An expression is written as it is: no get_prep_value, so no encryption.
    User.objects.filter(pk=user.pk).update(phone=Value(token, output_field=TextField()))


@pytest.fixture
def staff_user(db):
    return User.objects.create_user(username="crypto_probe", password=None)


# --- the primitives ---------------------------------------------------------------------------


def test_encrypt_decrypt_round_trip_with_the_key_id_in_front():
    token = encrypt("65422119900101123X", aad=PHONE_AAD)
    assert token.startswith("t1$")
    assert "65422119900101123X" not in token
    assert decrypt(token, aad=PHONE_AAD) == "65422119900101123X"


def test_the_same_value_encrypts_differently_each_time():
    assert encrypt(PHONE, aad=PHONE_AAD) != encrypt(PHONE, aad=PHONE_AAD)


def test_tampered_ciphertext_does_not_decrypt():
    token = encrypt(PHONE, aad=PHONE_AAD)
    key_id, body = token.split("$", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 0x01  # one bit of the tag
    tampered = f"{key_id}${base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        decrypt(tampered, aad=PHONE_AAD)


def test_a_value_copied_to_another_column_does_not_decrypt():
    token = encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError):
        decrypt(token, aad="orgs.organisation.contact_phone")


def test_unknown_key_id_does_not_decrypt():
    token = encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError):
        decrypt("zz$" + token.split("$", 1)[1], aad=PHONE_AAD)


def test_blind_index_is_deterministic_and_separated_by_purpose():
    assert blind_index(PHONE, purpose="phone") == blind_index(PHONE, purpose="phone")
    assert blind_index(PHONE, purpose="phone") != blind_index("13900001235", purpose="phone")
    assert blind_index(PHONE, purpose="phone") != blind_index(PHONE, purpose="id_number")
    assert PHONE not in blind_index(PHONE, purpose="phone")


# --- the model field --------------------------------------------------------------------------


def test_phone_is_stored_encrypted_with_the_key_id(staff_user):
    # when a phone is set
    user_set_phone(actor=None, user=staff_user, phone=PHONE)
    # then the column holds "<key id>$<ciphertext>" and reading the model gives the number back
    stored = raw_phone(staff_user)
    assert stored.startswith("t1$")
    assert PHONE not in stored
    assert User.objects.get(pk=staff_user.pk).phone == PHONE


def test_tampered_column_refuses_to_decrypt(staff_user):
    user_set_phone(actor=None, user=staff_user, phone=PHONE)
    token = raw_phone(staff_user)
    key_id, body = token.split("$", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[len(raw) // 2] ^= 0x80
    write_raw_phone(staff_user, f"{key_id}${base64.urlsafe_b64encode(bytes(raw)).decode()}")
    with pytest.raises(DecryptionError):
        User.objects.get(pk=staff_user.pk)


def test_ciphertext_of_another_column_refuses_to_decrypt(staff_user):
    # given a ciphertext made for another column (same key, same plaintext)
    write_raw_phone(staff_user, encrypt(PHONE, aad="orgs.organisation.contact_phone"))
    # then the phone column does not accept it
    with pytest.raises(DecryptionError):
        User.objects.get(pk=staff_user.pk)


def test_look_up_by_phone_uses_blind_index_equality(staff_user):
    user_set_phone(actor=None, user=staff_user, phone="+86 139-0000-1234")
    staff_user.refresh_from_db()
    assert staff_user.phone == PHONE
    assert staff_user.phone_index == blind_index(PHONE, purpose="phone")
    assert user_find_by_phone("１３９００００１２３４") == staff_user  # full-width digits
    assert user_find_by_phone("139 0000 1234") == staff_user
    assert user_find_by_phone("13900001235") is None
    assert user_find_by_phone("0000123") is None  # never a substring search
    assert user_find_by_phone("") is None


# --- rotation ---------------------------------------------------------------------------------


def _rotate(*args) -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", *args, stdout=out)
    return out.getvalue()


def test_rotation_re_encrypts_under_the_new_key_and_the_old_key_can_be_dropped(
    db, settings, staff_user
):
    # given phones written under the old key t1
    settings.KEXIE_FIELD_KEYS = OLD_KEY
    others = [User.objects.create_user(username=f"rotate{n}", password=None) for n in range(3)]
    for n, user in enumerate([staff_user, *others]):
        user_set_phone(actor=None, user=user, phone=f"1390000{n:04d}")
    # when the new key t2 is put first and a dry run is made
    settings.KEXIE_FIELD_KEYS = f"{NEW_KEY},{OLD_KEY}"
    dry = _rotate("--dry-run")
    # then it counts four values and changes nothing
    assert "accounts.User.phone: would re-encrypt 4, failed 0, not under t2: 4" in dry
    assert raw_phone(staff_user).startswith("t1$")
    assert not AuditEvent.objects.filter(event_type="crypto.rotate").exists()
    # when the rotation runs in batches of 3
    out = _rotate("--batch-size", "3")
    # then every value is under t2, in one audit event with the counts
    assert "accounts.User.phone: re-encrypted 4, failed 0, not under t2: 0" in out
    assert all(raw_phone(u).startswith("t2$") for u in [staff_user, *others])
    event = AuditEvent.objects.get(event_type="crypto.rotate")
    assert event.details["fields"]["accounts.User.phone"] == {
        "rotated": 4,
        "failed": 0,
        "remaining": 0,
    }
    assert event.outcome == "success"
    # and once the old key is dropped, everything still decrypts
    settings.KEXIE_FIELD_KEYS = NEW_KEY
    assert User.objects.get(pk=staff_user.pk).phone == "13900000000"
    assert sorted(User.objects.exclude(phone="").values_list("phone", flat=True)) == [
        f"1390000{n:04d}" for n in range(4)
    ]


def test_without_rotation_dropping_the_old_key_would_lose_the_data(db, settings, staff_user):
    settings.KEXIE_FIELD_KEYS = OLD_KEY
    user_set_phone(actor=None, user=staff_user, phone=PHONE)
    settings.KEXIE_FIELD_KEYS = NEW_KEY
    with pytest.raises(DecryptionError):
        User.objects.get(pk=staff_user.pk)


def test_an_interrupted_rotation_resumes_where_it_stopped(db, settings, monkeypatch):
    from kexie.core.management.commands import rotate_field_keys

    settings.KEXIE_FIELD_KEYS = OLD_KEY
    users = [User.objects.create_user(username=f"resume{n}", password=None) for n in range(5)]
    for n, user in enumerate(users):
        user_set_phone(actor=None, user=user, phone=f"1370000{n:04d}")
    settings.KEXIE_FIELD_KEYS = f"{NEW_KEY},{OLD_KEY}"
    # given a run that dies in its second batch (of 2)
    calls = {"n": 0}
    real_decrypt = crypto.decrypt

    def dying_decrypt(token, *, aad):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_decrypt(token, aad=aad)

    monkeypatch.setattr(rotate_field_keys, "decrypt", dying_decrypt)
    with pytest.raises(KeyboardInterrupt):
        _rotate("--batch-size", "2")
    # then the first batch is done and the broken one rolled back
    assert sum(raw_phone(u).startswith("t2$") for u in users) == 2
    # when the command runs again, it does only what is left
    monkeypatch.setattr(rotate_field_keys, "decrypt", real_decrypt)
    out = _rotate("--batch-size", "2")
    assert "accounts.User.phone: re-encrypted 3, failed 0, not under t2: 0" in out
    assert all(raw_phone(u).startswith("t2$") for u in users)


def test_values_that_do_not_decrypt_are_reported_and_fail_the_command(db, settings, staff_user):
    settings.KEXIE_FIELD_KEYS = f"{NEW_KEY},{OLD_KEY}"
    write_raw_phone(staff_user, "gone$" + encrypt(PHONE, aad=PHONE_AAD).split("$", 1)[1])
    with pytest.raises(CommandError, match="did not decrypt"):
        _rotate()
    event = AuditEvent.objects.get(event_type="crypto.rotate")
    assert event.outcome == "failure"
    assert event.details["fields"]["accounts.User.phone"]["failed"] == 1
    assert raw_phone(staff_user).startswith("gone$")  # left as it was


def test_rotation_finds_every_encrypted_field():
    from kexie.core.management.commands.rotate_field_keys import encrypted_fields

    labels = {f"{model._meta.label}.{field.name}" for model, field in encrypted_fields()}
    assert "accounts.User.phone" in labels
