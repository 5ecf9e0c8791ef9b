// Bundle JSON and statement parsing in memory: round trips, field order, and field-path errors.
using System.Text;
using Appliance.ImageBuilder.Signing;
using Appliance.ImageBuilder.Signing.Bundle;
using Appliance.ImageBuilder.Signing.Dsse;
using Appliance.ImageBuilder.Signing.InToto;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Tests.Signing;

public class BundleJsonTests
{
    private static readonly byte[] Sig = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02];

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void Dsse_and_message_bundles_round_trip()
    {
        var dsse = new SigstoreBundle(SigstoreBundle.MediaTypeV03, "hint=",
            new DsseContent(new DsseEnvelope(DsseEnvelope.InTotoPayloadType, "{\"a\":1}"u8.ToArray(), [new DsseSignature("kid", Sig)])));
        var back = BundleJson.Read(BundleJson.Write(dsse), "b.json");
        Assert.Equal("hint=", back.KeyHint);
        var env = Assert.IsType<DsseContent>(back.Content).Envelope;
        Assert.Equal("{\"a\":1}"u8.ToArray(), env.Payload);
        Assert.Equal(Sig, env.Signatures[0].Sig);
        Assert.Equal("kid", env.Signatures[0].KeyId);

        var msg = new SigstoreBundle(SigstoreBundle.MediaTypeV03, "h", new MessageSignatureContent(new byte[32], Sig));
        var m = Assert.IsType<MessageSignatureContent>(BundleJson.Read(BundleJson.Write(msg), "m.json").Content);
        Assert.Equal(new byte[32], m.Sha256);
        Assert.Equal(Sig, m.Signature);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Written_json_has_fixed_order_and_no_escaped_base64()
    {
        var b = new SigstoreBundle(SigstoreBundle.MediaTypeV03, "a+b/c=", new MessageSignatureContent(new byte[32], Sig));
        var text = Encoding.UTF8.GetString(BundleJson.Write(b));
        Assert.Equal(
            "{\n  \"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\",\n  \"verificationMaterial\": {\n    \"publicKey\": {\n" +
            "      \"hint\": \"a+b/c=\"\n    },\n    \"tlogEntries\": []\n  },\n  \"messageSignature\": {\n    \"messageDigest\": {\n" +
            "      \"algorithm\": \"SHA2_256\",\n      \"digest\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n    },\n" +
            "    \"signature\": \"MAYCAQECAQI=\"\n  }\n}\n", text);
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}", "x.json: verificationMaterial: missing")]
    [InlineData("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"h\"}},\"dsseEnvelope\":{\"payload\":\"!!\",\"payloadType\":\"t\",\"signatures\":[]}}", "x.json: dsseEnvelope.payload: not valid base64")]
    [InlineData("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"h\"}},\"dsseEnvelope\":{\"payload\":\"\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":5}]}}", "x.json: dsseEnvelope.signatures[0].sig: expected string, found number")]
    [InlineData("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"x509CertificateChain\":{}}}", "x.json: verificationMaterial.publicKey: missing (certificate-based")]
    [InlineData("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"h\"}},\"messageSignature\":{\"messageDigest\":{\"algorithm\":\"SHA2_512\",\"digest\":\"\"},\"signature\":\"\"}}", "messageDigest.algorithm: 'SHA2_512', expected 'SHA2_256'")]
    [InlineData("[1, }", "x.json:1:5: not valid JSON")]
    public void Malformed_bundles_name_the_field(string json, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => BundleJson.Read(Encoding.UTF8.GetBytes(json), "x.json"));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Other_media_types_are_reported_before_anything_else()
    {
        var e = Assert.Throws<UnsupportedBundleException>(() =>
            BundleJson.Read("{\"mediaType\":\"application/vnd.dev.sigstore.bundle+json;version=0.1\"}"u8, "x.json"));
        Assert.Contains("bundle mediaType is 'application/vnd.dev.sigstore.bundle+json;version=0.1'", e.Message);
        Assert.True(SigstoreBundle.IsSupported("application/vnd.dev.sigstore.bundle+json;version=0.3"));
    }

    [Fact]
    [Trait("Category", "RoundTrip")]
    public void A_signed_statement_that_is_not_in_toto_fails_with_the_payload_reason()
    {
        using var key = SigningKey.Generate();
        var env = DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, "{\"_type\":\"something-else\"}"u8.ToArray(), key);
        var bundle = BundleJson.Write(new SigstoreBundle(SigstoreBundle.MediaTypeV03, key.Id, new DsseContent(env)));
        var v = Verifier.Verify("f", new byte[32], bundle, "b.json", key.Public);
        Assert.Equal(VerificationFailure.Payload, v.Failure);
        Assert.Contains("_type: 'something-else', expected 'https://in-toto.io/Statement/v1'", v.Reason);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Statement_round_trips_its_subject_and_predicate_type()
    {
        var json = Statement.Write(new StatementSubject("a.img", new string('f', 64)), new Provenance { BuilderVersion = "1" });
        var s = Statement.Parse(json);
        Assert.Equal([new StatementSubject("a.img", new string('f', 64))], s.Subjects);
        Assert.Equal("https://slsa.dev/provenance/v1", s.PredicateType);
    }
}
