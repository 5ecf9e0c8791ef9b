// DSSE Pre-Authentication Encoding against the DSSE spec's test vector.
using System.Text;
using Appliance.ImageBuilder.Signing.Dsse;

namespace Appliance.ImageBuilder.Tests.Signing;

public class PaeTests
{
    [Fact]
    [Trait("Category", "Unit")]
    public void Pae_matches_the_dsse_spec_test_vector()
    {
        var pae = Pae.Encode("http://example.com/HelloWorld", Encoding.UTF8.GetBytes("hello world"));
        Assert.Equal("DSSEv1 29 http://example.com/HelloWorld 11 hello world", Encoding.ASCII.GetString(pae));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Pae_lengths_count_utf8_bytes_not_characters()
    {
        var pae = Pae.Encode("t\u00e9", [0xff, 0x00]);
        Assert.Equal([.. "DSSEv1 3 t"u8, 0xc3, 0xa9, .. " 2 "u8, 0xff, 0x00], pae);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Pae_of_an_empty_payload_ends_with_zero_length()
    {
        Assert.Equal("DSSEv1 4 type 0 ", Encoding.ASCII.GetString(Pae.Encode("type", [])));
    }
}
