// RFC 6979 A.2.5 (P-256, SHA-256) known answers: our signer derives the same nonce, hence the same (r, s).
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Tests.Signing;

public class DeterministicSignatureTests
{
    // RFC 6979 A.2.5: the P-256 key pair.
    private const string X = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
    private const string Ux = "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6";
    private const string Uy = "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";

    private static SigningKey RfcKey() => SigningKey.FromParameters(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        D = Convert.FromHexString(X),
        Q = new ECPoint { X = Convert.FromHexString(Ux), Y = Convert.FromHexString(Uy) },
    });

    private static (string R, string S) ReadDer(byte[] der)
    {
        var seq = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var r = seq.ReadIntegerBytes().ToArray().SkipWhile(b => b == 0).ToArray();
        var s = seq.ReadIntegerBytes().ToArray().SkipWhile(b => b == 0).ToArray();
        Assert.False(seq.HasData);
        return (Convert.ToHexString(r).PadLeft(64, '0'), Convert.ToHexString(s).PadLeft(64, '0'));
    }

    [Theory]
    [Trait("Category", "Unit")]
    // RFC 6979 A.2.5, "With SHA-256": r and s exactly as listed (s of "sample" is in the upper half: no low-S).
    [InlineData("sample", "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8")]
    [InlineData("test", "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
        "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083")]
    public void Rfc6979_p256_sha256_vectors_give_the_listed_r_and_s(string message, string r, string s)
    {
        using var key = RfcKey();
        var data = Encoding.ASCII.GetBytes(message);
        var der = key.SignData(data);
        Assert.Equal((r, s), ReadDer(der));
        Assert.Equal(der, key.SignHash(SHA256.HashData(data)));
        Assert.True(key.Public.VerifyData(data, der));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Der_encoding_is_minimal_with_a_sign_byte_only_where_the_high_bit_is_set()
    {
        using var key = RfcKey();
        // r = F1AB.. needs a 0x00 sign byte (33 bytes); s = 019F.. does not (32 bytes): 0x30 0x45.
        Assert.Equal(
            "3045022100F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367" +
            "0220019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
            Convert.ToHexString(key.SignData("test"u8)));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Signatures_depend_only_on_key_and_message()
    {
        using var a = SigningKey.Generate();
        using var b = SigningKey.Generate();
        var msg = RandomNumberGenerator.GetBytes(1000);
        var first = a.SignData(msg);
        Assert.Equal(first, a.SignData(msg));
        Assert.NotEqual(first, b.SignData(msg));
        msg[0] ^= 1;
        Assert.NotEqual(first, a.SignData(msg));
        Assert.True(a.Public.VerifyData(msg, a.SignData(msg)));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void A_key_read_back_from_its_encrypted_pem_signs_identically()
    {
        using var key = SigningKey.Generate();
        using var back = SigningKey.ParsePem(key.ToEncryptedPem("pw", iterations: 1000), "pw", "test.key");
        Assert.Equal(key.SignData("payload"u8), back.SignData("payload"u8));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Only_p256_parameters_are_accepted()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => SigningKey.FromParameters(p384.ExportParameters(true)));
    }
}
