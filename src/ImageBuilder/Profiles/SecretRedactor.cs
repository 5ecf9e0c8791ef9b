// Replaces known secret values with a marker in any text: rendered profiles, log lines, error messages.
using System.Text;

namespace Appliance.ImageBuilder.Profiles;

/// <summary>Redacts a fixed set of secret strings wherever they occur.</summary>
public sealed class SecretRedactor
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Marker = "<redacted>";

    /// <summary>Secrets shorter than this are not searched for in free text (they would clobber ordinary words);
    /// such tokens fail validation anyway.</summary>
    public const int MinLength = 8;

    private readonly string[] _secrets;

    /// <summary>Creates a redactor for <paramref name="secrets"/>.</summary>
    public SecretRedactor(IEnumerable<string> secrets) =>
        _secrets = secrets.Where(s => s.Length >= MinLength).Distinct(StringComparer.Ordinal)
            .OrderByDescending(s => s.Length).ThenBy(s => s, StringComparer.Ordinal).ToArray();

    /// <summary>A redactor that changes nothing.</summary>
    public static SecretRedactor None { get; } = new([]);

    /// <summary><paramref name="text"/> with every secret replaced by <see cref="Marker"/>.</summary>
    public string Redact(string text)
    {
        foreach (var s in _secrets)
            if (text.Contains(s, StringComparison.Ordinal))
                text = text.Replace(s, Marker, StringComparison.Ordinal);
        return text;
    }

    /// <summary>A writer that redacts each line before passing it to <paramref name="inner"/>.</summary>
    public TextWriter Wrap(TextWriter inner) => new RedactingWriter(inner, this);

    /// <summary>Buffers whole lines so a secret split across Write calls is still caught.</summary>
    private sealed class RedactingWriter(TextWriter inner, SecretRedactor redactor) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            _line.Append(value);
            if (value == '\n')
                Emit(all: false);
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            _line.Append(value);
            if (value.Contains('\n'))
                Emit(all: false);
        }

        public override void Flush()
        {
            Emit(all: true);
            inner.Flush();
        }

        /// <summary>Writes complete lines (or everything when <paramref name="all"/>), keeping a partial last line.</summary>
        private void Emit(bool all)
        {
            var text = _line.ToString();
            int cut = all ? text.Length : text.LastIndexOf('\n') + 1;
            if (cut <= 0) return;
            inner.Write(redactor.Redact(text[..cut]));
            _line.Remove(0, cut);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Flush();
            base.Dispose(disposing);
        }
    }
}
