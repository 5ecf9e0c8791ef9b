// Verifies one file offline and prints what was verified, or the one reason it was not.
using System.Text;
using Appliance.ImageBuilder.Signing;
using Appliance.ImageBuilder.Signing.Io;
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Cli.Verify;

/// <summary>The logic of <c>appliance verify</c>.</summary>
public sealed class VerifyCommand(CliContext ctx)
{
    /// <summary>Verifies; returns 0 when verified, 1 when not, 2 for unreadable input.</summary>
    public int Run(string file, string keyPath, string? bundlePath, OutputFormat output)
    {
        if (!System.IO.File.Exists(keyPath))
            throw new UserInputException($"{keyPath}: public key file not found");
        using var key = VerificationKey.ReadPem(keyPath);
        var result = Verifier.VerifyFile(file, key, bundlePath);
        if (!result.Verified)
        {
            ctx.Error.WriteLine($"appliance: verification FAILED for {file}: {result.Reason}");
            return ExitCodes.Failure;
        }
        if (output == OutputFormat.Json)
        {
            if (result.Statement != null)
            {
                ctx.Out.WriteLine(Encoding.UTF8.GetString(result.Statement.Json));
            }
            else
            {
                ctx.Out.Write(Encoding.UTF8.GetString(Json.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("format", "messageSignature");
                    w.WriteString("file", file);
                    w.WriteStartObject("digest");
                    w.WriteString("sha256", result.Sha256);
                    w.WriteEndObject();
                    w.WriteString("keyId", result.KeyId);
                    w.WriteEndObject();
                }, indented: true)));
            }
            return ExitCodes.Ok;
        }
        ctx.Out.WriteLine($"Verified {file}");
        ctx.Out.WriteLine($"  sha256:    {result.Sha256}");
        ctx.Out.WriteLine($"  key id:    {result.KeyId}");
        if (result.Statement is { } s)
        {
            ctx.Out.WriteLine($"  signed:    DSSE envelope over an in-toto statement (signature, subject digest and key id checked)");
            ctx.Out.WriteLine($"  subject:   {string.Join(", ", s.Subjects.Where(x => x.Sha256 == result.Sha256).Select(x => x.Name))}");
            ctx.Out.WriteLine($"  predicate: {s.PredicateType}");
        }
        else
            ctx.Out.WriteLine("  signed:    message signature over the file (signature, digest and key id checked)");
        ctx.Out.WriteLine("  offline:   no transparency log or timestamp was consulted (tlogEntries is empty)");
        return ExitCodes.Ok;
    }
}
