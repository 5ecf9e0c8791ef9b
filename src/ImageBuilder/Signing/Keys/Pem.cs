// Finds the single PEM block in a key file and names what is wrong when there is none (RFC 7468).
using System.Security.Cryptography;
using System.Text;

namespace Appliance.ImageBuilder.Signing.Keys;

/// <summary>One PEM block: its label and DER contents.</summary>
internal sealed record PemBlock(string Label, byte[] Der)
{
    /// <summary>Reads the first PEM block of <paramref name="text"/>; <paramref name="source"/> names it in errors.</summary>
    public static PemBlock Read(string text, string source)
    {
        if (!PemEncoding.TryFind(text, out var fields))
        {
            var begin = text.IndexOf("-----BEGIN ", StringComparison.Ordinal);
            if (begin < 0)
                throw new InvalidDataException($"{source}: not a PEM file (no '-----BEGIN' line found)");
            var line = 1 + text.AsSpan(0, begin).Count("\n");
            throw new InvalidDataException(
                $"{source}:{line}: PEM block is incomplete or damaged (truncated file, or no matching '-----END' line)");
        }
        var label = text[fields.Label];
        var der = new byte[fields.DecodedDataLength];
        if (!Convert.TryFromBase64Chars(text.AsSpan(fields.Base64Data), der, out var written) || written != der.Length)
            throw new InvalidDataException($"{source}: PEM block '{label}' has invalid base64 contents");
        return new PemBlock(label, der);
    }

    /// <summary>Reads <paramref name="path"/> as text and finds its PEM block.</summary>
    public static PemBlock ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.ASCII);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"{path}: key file not found", path);
        }
        return Read(text, path);
    }
}
