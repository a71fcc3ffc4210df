// A JMS consumer, as Intygsstatistik's and Webcert's listeners are: reads a queue over
// OpenWire and prints each message as one JSON line (its JMS class, string properties, text).
// Used by the event-feed tests to prove what a Java consumer sees; arguments: url queue count seconds.
import java.util.Enumeration;
import javax.jms.Connection;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.Session;
import javax.jms.TextMessage;
import org.apache.activemq.ActiveMQConnectionFactory;

public class JmsQueueReader {
    public static void main(String[] args) throws Exception {
        Connection connection = new ActiveMQConnectionFactory(args[0]).createConnection();
        connection.start();
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageConsumer consumer = session.createConsumer(session.createQueue(args[1]));
        int wanted = Integer.parseInt(args[2]);
        long deadline = System.currentTimeMillis() + 1000L * Integer.parseInt(args[3]);
        for (int got = 0; got < wanted && System.currentTimeMillis() < deadline; ) {
            Message message = consumer.receive(Math.max(1, deadline - System.currentTimeMillis()));
            if (message == null) break;
            got++;
            StringBuilder line = new StringBuilder("{\"class\":").append(quote(message.getClass().getSimpleName()));
            line.append(",\"text_message\":").append(message instanceof TextMessage);
            line.append(",\"correlation_id\":").append(quote(message.getJMSCorrelationID()));
            line.append(",\"properties\":{");
            Enumeration<?> names = message.getPropertyNames();
            boolean first = true;
            while (names.hasMoreElements()) {
                String name = (String) names.nextElement();
                line.append(first ? "" : ",").append(quote(name)).append(":").append(quote(String.valueOf(message.getObjectProperty(name))));
                first = false;
            }
            line.append("},\"text\":").append(message instanceof TextMessage ? quote(((TextMessage) message).getText()) : "null").append("}");
            System.out.println(line);
        }
        connection.close();
    }

    private static String quote(String s) {
        if (s == null) return "null";
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }
}
