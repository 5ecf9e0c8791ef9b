// SPDY/3 header blocks: the dictionary's published size and id, and a compress/decompress round trip through libz.
using Appliance.ClusterRuntime.Spdy;

namespace Appliance.ClusterRuntime.Tests.Spdy;

[Trait("Category", "Unit")]
public sealed class SpdyHeaderTests
{
    [Fact]
    public void DictionaryHasTheSpecsSizeAndAdler32()
    {
        Assert.Equal(1423, SpdyDictionary.Bytes.Length);
        uint a = 1, b = 0;
        foreach (var x in SpdyDictionary.Bytes)
        {
            a = (a + x) % 65521;
            b = (b + a) % 65521;
        }
        // The DICTID every SPDY/3 peer puts in its first header block.
        Assert.Equal(0xE3C6A7C2u, (b << 16) | a);
    }

    [Fact]
    public void HeaderBlocksRoundTripThroughOneSessionContext()
    {
        using var deflate = HeaderZlib.ForDeflate();
        using var inflate = HeaderZlib.ForInflate();
        for (var i = 0; i < 3; i++)
        {
            var sent = new Dictionary<string, string> { ["StreamType"] = "data", ["port"] = "8080", ["requestID"] = i.ToString() };
            var block = deflate.Deflate(HeaderBlock.Encode(sent));
            var got = HeaderBlock.Decode(inflate.Inflate(block));
            Assert.Equal("data", got["streamtype"]);
            Assert.Equal(i.ToString(), got["requestid"]);
        }
    }
}
